// The pay form: one submit only. The server is idempotent anyway (the form's key); this just spares a wait.
"use strict";
document.querySelectorAll("#pay-form").forEach(function (form) {
  form.addEventListener("submit", function () {
    var button = form.querySelector("button[type=submit]");
    window.setTimeout(function () { button.disabled = true; button.textContent = "Paying…"; }, 0);
  });
});
