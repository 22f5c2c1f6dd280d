// The exit codes wharf promises (README "Commands"): 70 is sysexits' EX_SOFTWARE.
export const EXIT = { ok: 0, failed: 1, input: 2, bug: 70 } as const;
