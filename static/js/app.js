// Small progressive enhancements; the portal works without this file.
(function () {
  "use strict";
  function flash(message, kind) {
    var area = document.getElementById("flash");
    if (!area) return;
    var box = document.createElement("div");
    box.className = "flash flash-" + (kind || "error");
    box.setAttribute("role", "status");
    box.textContent = message;
    area.appendChild(box);
    setTimeout(function () { box.remove(); }, 8000);
  }
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    var messages = {
      400: "页面已过期或提交内容有误，请刷新后重试。",
      403: "您没有权限执行此操作。",
      404: "要找的内容不存在，或不在您的管理范围内。",
      409: "该记录已被他人修改，请刷新后查看最新内容。",
      429: "操作过于频繁，请稍后再试。"
    };
    flash(messages[status] || "系统繁忙，请稍后再试。", "error");
  });
  document.addEventListener("htmx:sendError", function () {
    flash("网络连接失败，请检查网络后重试。您填写的内容仍保留在页面上。", "error");
  });
  // After an inline field check swaps in a new message, keep the field's error state in step.
  document.addEventListener("htmx:afterSwap", function (event) {
    var message = event.detail.target;
    if (!message || !message.id) return;
    var error = document.getElementById(message.id);
    if (!error || !/-error$/.test(error.id)) return;
    var invalid = error.textContent.trim() !== "";
    document.querySelectorAll('[aria-describedby~="' + error.id + '"]').forEach(function (input) {
      input.setAttribute("aria-invalid", invalid ? "true" : "false");
      var field = input.closest(".field");
      if (field) field.classList.toggle("has-error", invalid);
    });
  });
  // A search box with its own live search must not also fire its filter form's "change"
  // trigger when the user leaves it (a second request could race a click on a result).
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input.matches && input.matches('input[type="search"][hx-get]') && input.form) {
      event.stopPropagation();
    }
  }, true);
  // Confirmation for buttons carrying data-confirm (no inline handlers: the CSP forbids them).
  document.addEventListener("click", function (event) {
    var el = event.target.closest("[data-confirm]");
    if (el && !window.confirm(el.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
})();
