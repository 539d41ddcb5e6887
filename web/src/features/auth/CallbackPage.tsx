import { useEffect, useState } from "react";

import { errorSentence } from "../../api/problems";
import { navigate } from "../../router";
import { useAuth } from "./AuthProvider";

export function CallbackPage() {
  const { complete } = useAuth();
  const [failure, setFailure] = useState<string | null>(null);

  useEffect(() => {
    complete().then(
      (path) => {
        navigate(path, { replace: true });
      },
      (error: unknown) => {
        setFailure(`Signing in did not work: ${errorSentence(error)}`);
      },
    );
  }, [complete]);

  return (
    <section aria-live="polite">
      <h1 tabIndex={-1}>Signing in…</h1>
      {failure !== null && (
        <p role="alert" className="error">
          {failure}
        </p>
      )}
    </section>
  );
}
