// What a form tells after an action: a refusal, announced at once (role=alert), and a quieter status
// that screen readers read when they are free (aria-live=polite).

export interface SetError {
  type: string;
  description?: string;
}

/** A SetError in words: the server's description, else its type (RFC 8620 §5.3). */
export const explain = (error: SetError): string => error.description ?? error.type;

export function Notices({ error, status }: { error: string; status: string }) {
  return (
    <>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <p class="status" aria-live="polite">
        {status}
      </p>
    </>
  );
}
