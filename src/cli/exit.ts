export const EXIT = { ok: 0, failed: 1, input: 2 } as const;
