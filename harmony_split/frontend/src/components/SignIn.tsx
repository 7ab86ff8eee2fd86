// Session sign-in (Django's session and CSRF cookies; the CSRF token goes in the X-CSRFToken header).
import { useState, type FormEvent } from "react";
import { signIn, type Session } from "../api";

export function SignIn({ onSignedIn, onError }: { onSignedIn: (s: Session) => void; onError: (e: unknown) => void }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    signIn(username, password)
      .then(onSignedIn)
      .catch(onError)
      .finally(() => setBusy(false));
  };

  return (
    <form className="card sign-in" onSubmit={submit}>
      <h1>Sign in</h1>
      <label>
        User name
        <input
          name="username"
          autoComplete="username"
          value={username}
          onChange={(e) => setUsername(e.target.value)}
          required
        />
      </label>
      <label>
        Password
        <input
          name="password"
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          required
        />
      </label>
      <button type="submit" disabled={busy}>
        Sign in
      </button>
    </form>
  );
}
