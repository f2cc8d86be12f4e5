// The citation page's Print button (no inline scripts: the CSP allows only files from this site).
(function () {
  "use strict";
  var button = document.getElementById("print");
  if (button) {
    button.addEventListener("click", function (event) { event.preventDefault(); window.print(); });
  }
}());
