// The one place errors are announced (role="alert"): one line per error, newest last, in plain words; a
// technical reason stays behind a "Details" toggle.
import { plainError } from "../logic/errors";

export function ErrorAlert({ messages, onDismiss }: { messages: string[]; onDismiss: () => void }) {
  if (messages.length === 0) {
    return null;
  }
  return (
    <div className="alert" role="alert">
      <ul>
        {messages.map((m, i) => {
          const { text, detail } = plainError(m);
          return (
            <li key={i}>
              {text}
              {detail && (
                <details>
                  <summary>Details</summary>
                  <code>{detail}</code>
                </details>
              )}
            </li>
          );
        })}
      </ul>
      <button type="button" className="link-button" onClick={onDismiss}>
        Dismiss
      </button>
    </div>
  );
}
