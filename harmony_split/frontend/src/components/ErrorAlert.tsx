// The one place errors are announced (role="alert"): one line per error, newest last.
export function ErrorAlert({ messages, onDismiss }: { messages: string[]; onDismiss: () => void }) {
  if (messages.length === 0) {
    return null;
  }
  return (
    <div className="alert" role="alert">
      <ul>
        {messages.map((m, i) => (
          <li key={i}>{m}</li>
        ))}
      </ul>
      <button type="button" className="link-button" onClick={onDismiss}>
        Dismiss
      </button>
    </div>
  );
}
