import { cloneElement, type ComponentChildren, type VNode } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api';

/** The API's own messages, where the action that failed is; announced to screen readers. */
export function Errors({ messages, id }: { messages: string[]; id?: string }) {
  if (messages.length === 0) return null;
  return (
    <div class="error" role="alert" id={id}>
      {messages.map((msg) => (
        <p key={msg}>{msg}</p>
      ))}
    </div>
  );
}

export function messagesOf(error: unknown): string[] {
  if (error instanceof ApiError) return error.detail.map((d) => d.msg);
  if (!error) return [];
  return [error instanceof Error ? error.message : 'Unexpected error'];
}

/** A labelled control with its hint and the API's messages about its field below it, both named by the control's aria-describedby. */
export function Field(props: { id: string; label: string; error?: ApiError | null; field?: string; hint?: string; children: VNode }) {
  const messages = props.error && props.field ? props.error.about(props.field) : [];
  const describedBy = [props.hint && `${props.id}-hint`, messages.length > 0 && `${props.id}-error`].filter(Boolean).join(' ');
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      {cloneElement(props.children, { 'aria-describedby': describedBy || undefined })}
      {props.hint && (
        <small id={`${props.id}-hint`} class="hint">
          {props.hint}
        </small>
      )}
      <Errors id={`${props.id}-error`} messages={messages} />
    </div>
  );
}

/** An async action's state: running, and the error it ended with. */
export function useAction<A extends unknown[]>(run: (...args: A) => Promise<void>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const start = async (...args: A) => {
    setBusy(true);
    setError(null);
    try {
      await run(...args);
    } catch (caught) {
      setError(caught instanceof ApiError ? caught : new ApiError(0, [{ msg: messagesOf(caught)[0], type: 'client' }]));
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, setError, start };
}

/** The screen's heading takes the focus when the screen changes, so keyboard and screen reader users start there. */
export function Heading({ children }: { children: ComponentChildren }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => ref.current?.focus(), []);
  return (
    <h1 tabIndex={-1} ref={ref}>
      {children}
    </h1>
  );
}

/** A secret shown once, with a copy button. */
export function SecretBox({ secret, label, onDismiss }: { secret: string; label: string; onDismiss: () => void }) {
  const [copied, setCopied] = useState(false);
  const ref = useRef<HTMLInputElement>(null);
  useEffect(() => ref.current?.focus(), [secret]);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret);
    } catch {
      ref.current?.select();
      document.execCommand('copy');
    }
    setCopied(true);
  };
  return (
    <section class="secret" aria-labelledby="secret-title">
      <h2 id="secret-title">{label}</h2>
      <p>Copy it now: it is not shown again.</p>
      <label for="secret-value">Signing secret</label>
      <div class="row">
        <input id="secret-value" ref={ref} readOnly value={secret} onFocus={(e) => e.currentTarget.select()} />
        <button type="button" onClick={() => void copy()}>
          Copy
        </button>
        <button type="button" onClick={onDismiss}>
          Done
        </button>
      </div>
      <p aria-live="polite">{copied ? 'Copied to the clipboard.' : ''}</p>
    </section>
  );
}

/** A modal confirmation (<dialog>: focus trapped, Escape cancels, focus returns to the opener). */
export function Confirm(props: { title: string; body: string; confirmLabel: string; onConfirm: () => void; onCancel: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const opener = document.activeElement as HTMLElement | null;
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    // Closed: the focus goes back to what opened it (if it is still there).
    return () => opener?.focus();
  }, []);
  return (
    <dialog ref={ref} aria-labelledby="confirm-title" onCancel={props.onCancel}>
      <h2 id="confirm-title">{props.title}</h2>
      <p>{props.body}</p>
      <div class="row">
        <button type="button" class="danger" onClick={props.onConfirm}>
          {props.confirmLabel}
        </button>
        <button type="button" autoFocus onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </dialog>
  );
}

export function formatDate(iso: string | null): string {
  return iso ? new Date(iso).toLocaleString() : '—';
}
