// A small form for a named viewer: a note, and (until this browser has one) the viewer token
// that says who is writing. Used to acknowledge alerts and to add notes to charts and tiles.
import { setViewerToken, viewerToken } from "./api.js";
import { el } from "./format.js";

let counter = 0;

/** Return a form: `onSubmit(note)` posts it and resolves, or throws an Error to show. */
export function noteForm({ submitLabel, noteLabel, required = false, onSubmit, onCancel }) {
  const id = `hub-note-${++counter}`;
  const form = el("form", "hub-note-form");
  form.noValidate = true;
  const error = el("p", "nhsuk-error-message hub-note-form__error");
  error.hidden = true;
  error.setAttribute("role", "alert");
  const parts = [error];
  let tokenInput = null;
  if (!viewerToken()) {
    const label = el("label", "nhsuk-label", "Your viewer token (ask the hub's admin for one with your name)");
    label.htmlFor = `${id}-token`;
    tokenInput = el("input", "nhsuk-input hub-note-form__token");
    tokenInput.id = `${id}-token`;
    tokenInput.type = "password";
    tokenInput.autocomplete = "off";
    parts.push(label, tokenInput);
  }
  const label = el("label", "nhsuk-label", noteLabel);
  label.htmlFor = `${id}-note`;
  const note = el("textarea", "nhsuk-textarea hub-note-form__note");
  note.id = `${id}-note`;
  note.rows = 2;
  note.maxLength = 500;
  const submit = el("button", "nhsuk-button nhsuk-button--small hub-note-form__submit", submitLabel);
  submit.type = "submit";
  const actions = el("div", "hub-note-form__actions");
  actions.append(submit);
  if (onCancel) {
    const cancel = el("button", "nhsuk-button nhsuk-button--secondary nhsuk-button--small", "Cancel");
    cancel.type = "button";
    cancel.addEventListener("click", onCancel);
    actions.append(cancel);
  }
  parts.push(label, note, actions);
  form.append(...parts);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = note.value.trim();
    if (required && !text) return show(error, "Write the note first.");
    if (tokenInput) {
      if (!tokenInput.value.trim()) return show(error, "Enter your viewer token first.");
      setViewerToken(tokenInput.value.trim());
    }
    submit.disabled = true;
    try {
      await onSubmit(text || null);
    } catch (err) {
      if (err.status === 401 && tokenInput) setViewerToken(null);
      show(error, err.message);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

function show(error, message) {
  error.textContent = message;
  error.hidden = false;
}
