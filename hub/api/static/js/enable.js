// Marks the page as scripted, as NHS.UK frontend expects; a file, not inline, for the CSP.
document.body.className +=
  " js-enabled" + ("noModule" in HTMLScriptElement.prototype ? " nhsuk-frontend-supported" : "");
