// The one way a value enters a Kubernetes container's command, args or env value. The kubelet
// expands `$(NAME)` there from the container's environment and reads `$$` as one literal `$`
// (k8s.io/kubernetes third_party/forked/golang/expansion). wharf never relies on that
// expansion, as it never relies on Compose's `${VAR}`: every `$` is written doubled, so the
// container sees exactly the spec's text.

/** `$` doubled: the kubelet turns `$$` back into `$` and expands nothing. */
export function kubeLiteral(value: string): string {
  return value.replaceAll('$', '$$$$');
}
