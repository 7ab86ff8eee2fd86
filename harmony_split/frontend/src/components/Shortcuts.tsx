// The keyboard shortcuts list: a modal dialog opened by "?" anywhere (outside text fields) or by the header's
// "Keyboard shortcuts" button; Esc or Close shuts it and focus returns where it was (the native <dialog>).
import { useEffect, useRef } from "react";
import { asksForShortcuts, SHORTCUTS } from "../logic/shortcuts";

export function Shortcuts() {
  const dialog = useRef<HTMLDialogElement>(null);

  const toggle = () => {
    const d = dialog.current;
    if (d?.open) {
      d.close();
    } else {
      d?.showModal();
    }
  };

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (asksForShortcuts(event)) {
        event.preventDefault();
        toggle();
      }
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, []);

  return (
    <>
      <button type="button" className="link-button shortcuts-button" onClick={toggle} aria-keyshortcuts="?">
        Keyboard shortcuts
      </button>
      <dialog ref={dialog} className="shortcuts" aria-labelledby="shortcuts-title">
        <h2 id="shortcuts-title">Keyboard shortcuts</h2>
        <table>
          <tbody>
            {SHORTCUTS.map((s) => (
              <tr key={s.action}>
                <th scope="row">
                  {s.keys.map((k, i) => (
                    <span key={k}>
                      {i > 0 && " "}
                      <kbd>{k}</kbd>
                    </span>
                  ))}
                </th>
                <td>{s.action}</td>
                <td className="muted small">{s.where}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <form method="dialog">
          <button type="submit" className="primary">
            Close
          </button>
        </form>
      </dialog>
    </>
  );
}
