// The whole app: sign-in gate, header with sign-out, and the two pages. Errors from anywhere go to one
// role="alert" element.
import { useCallback, useEffect, useState } from "react";
import { ApiError, getSession, signOut, type Session } from "../api";
import { parseRoute, type Route } from "../logic/route";
import { ErrorAlert } from "./ErrorAlert";
import { Home } from "./Home";
import { BrandMark } from "./Icons";
import { Shortcuts } from "./Shortcuts";
import { SignIn } from "./SignIn";
import { TrackPage } from "./TrackPage";

export function useRoute(): [Route, (path: string) => void] {
  const [route, setRoute] = useState<Route>(() => parseRoute(window.location.pathname));
  useEffect(() => {
    const onPop = () => setRoute(parseRoute(window.location.pathname));
    window.addEventListener("popstate", onPop);
    return () => window.removeEventListener("popstate", onPop);
  }, []);
  const navigate = useCallback((path: string) => {
    window.history.pushState(null, "", path);
    setRoute(parseRoute(path));
  }, []);
  return [route, navigate];
}

export function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [errors, setErrors] = useState<string[]>([]);
  const [route, navigate] = useRoute();

  const report = useCallback((e: unknown) => {
    if (e instanceof ApiError && e.status === 401) {
      setSession(null);
    }
    const message = e instanceof Error ? e.message : String(e);
    setErrors((old) => [...old.slice(-4), message]);
  }, []);
  const dismiss = useCallback(() => setErrors([]), []);

  useEffect(() => {
    getSession()
      .then((s) => setSession(s.authenticated ? s : null))
      .catch((e: unknown) => {
        setSession(null);
        if (!(e instanceof ApiError && (e.status === 401 || e.status === 403))) {
          report(e);
        }
      });
  }, [report]);

  const onSignOut = () => {
    signOut()
      .then(() => setSession(null))
      .catch(report);
  };

  return (
    <div className="app">
      <header className="app-header">
        <a
          href="/"
          className="brand"
          onClick={(e) => {
            e.preventDefault();
            navigate("/");
          }}
        >
          <BrandMark />
          harmony_split
        </a>
        {session && (
          <span className="account">
            <Shortcuts />
            <span className="muted">{session.username}</span>
            <button type="button" onClick={onSignOut}>
              Sign out
            </button>
          </span>
        )}
      </header>
      <ErrorAlert messages={errors} onDismiss={dismiss} />
      <main>
        {session === undefined && <p className="muted">Loading…</p>}
        {session === null && (
          <SignIn
            onSignedIn={(s) => {
              setErrors([]);
              setSession(s);
            }}
            onError={report}
          />
        )}
        {session && route.page === "home" && <Home navigate={navigate} onError={report} />}
        {session && route.page === "track" && <TrackPage id={route.id} navigate={navigate} onError={report} />}
      </main>
    </div>
  );
}
