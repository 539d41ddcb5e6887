/** A router for six pages: the History API and nothing else. */
import { useSyncExternalStore, type MouseEvent, type ReactNode } from "react";

const listeners = new Set<() => void>();

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  window.addEventListener("popstate", listener);
  return () => {
    listeners.delete(listener);
    window.removeEventListener("popstate", listener);
  };
}

export function navigate(path: string, { replace = false } = {}): void {
  if (replace) window.history.replaceState(null, "", path);
  else window.history.pushState(null, "", path);
  listeners.forEach((listener) => {
    listener();
  });
}

export function usePath(): string {
  return useSyncExternalStore(subscribe, () => window.location.pathname);
}

interface LinkProps {
  readonly to: string;
  readonly children: ReactNode;
  readonly className?: string;
}

export function Link({ to, children, className }: LinkProps) {
  const path = usePath();
  const onClick = (event: MouseEvent<HTMLAnchorElement>) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(to);
  };
  return (
    <a href={to} onClick={onClick} className={className} aria-current={path === to ? "page" : undefined}>
      {children}
    </a>
  );
}
