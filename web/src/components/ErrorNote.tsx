import { ApiError, errorSentence } from "../api/problems";
import { useAuth } from "../features/auth/AuthProvider";

/** A failure as a sentence; an expired session comes with the way back in. */
export function ErrorNote({ error }: { error: unknown }) {
  const { signIn } = useAuth();
  if (error === null || error === undefined) return null;
  const again = error instanceof ApiError && error.signInAgain;
  return (
    <div role="alert" className="error">
      <p>{errorSentence(error)}</p>
      {again && (
        <button type="button" onClick={() => void signIn()}>
          Sign in again
        </button>
      )}
    </div>
  );
}
