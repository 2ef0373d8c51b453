/* The header's menus (templates/_header.html): a button per group opens its list of links.
   Keyboard: Enter / Space / ArrowDown on a button open it and focus the first link; ArrowUp /
   ArrowDown move within the list, Home / End to its ends; Escape closes and returns to the
   button; ArrowLeft / ArrowRight on a button move to the neighbouring menu. One menu open at
   a time; a click outside or focus leaving a menu closes it. aria-expanded follows the state.
   Without this script the lists open on hover and on keyboard focus (cecp.css). */
(function () {
  "use strict";
  document.documentElement.classList.add("cecp-js");

  function menus() { return Array.prototype.slice.call(document.querySelectorAll(".cecp-menu")); }
  function button(menu) { return menu.querySelector(".cecp-menu-button"); }
  function links(menu) { return Array.prototype.slice.call(menu.querySelectorAll(".cecp-submenu a")); }

  function close(menu, focusButton) {
    if (!menu.classList.contains("open")) { return; }
    menu.classList.remove("open");
    button(menu).setAttribute("aria-expanded", "false");
    if (focusButton) { button(menu).focus(); }
  }
  function closeAll(except) { menus().forEach(function (m) { if (m !== except) { close(m, false); } }); }
  function open(menu, focusIndex) {
    closeAll(menu);
    menu.classList.add("open");
    button(menu).setAttribute("aria-expanded", "true");
    var items = links(menu);
    if (focusIndex !== undefined && items.length) {
      items[(focusIndex + items.length) % items.length].focus();
    }
  }
  function neighbour(menu, step) {
    var bar = Array.prototype.slice.call(document.querySelectorAll(".cecp-menubar > li > .cecp-nav-link"));
    var i = bar.indexOf(button(menu));
    var next = bar[(i + step + bar.length) % bar.length];
    if (next) { next.focus(); }
  }

  function setup() {
    menus().forEach(function (menu) {
      var btn = button(menu);
      btn.addEventListener("click", function () {
        if (menu.classList.contains("open")) { close(menu, false); } else { open(menu); }
      });
      btn.addEventListener("keydown", function (e) {
        if (e.key === "ArrowDown" || ((e.key === "Enter" || e.key === " ") && !menu.classList.contains("open"))) {
          e.preventDefault(); open(menu, 0);
        } else if (e.key === "ArrowUp") {
          e.preventDefault(); open(menu, -1);
        } else if (e.key === "Escape") {
          close(menu, true);
        } else if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
          e.preventDefault(); close(menu, false); neighbour(menu, e.key === "ArrowRight" ? 1 : -1);
        }
      });
      menu.querySelector(".cecp-submenu").addEventListener("keydown", function (e) {
        var items = links(menu);
        var i = items.indexOf(document.activeElement);
        if (e.key === "ArrowDown") { e.preventDefault(); items[(i + 1) % items.length].focus(); }
        else if (e.key === "ArrowUp") { e.preventDefault(); items[(i - 1 + items.length) % items.length].focus(); }
        else if (e.key === "Home") { e.preventDefault(); items[0].focus(); }
        else if (e.key === "End") { e.preventDefault(); items[items.length - 1].focus(); }
        else if (e.key === "Escape") { e.preventDefault(); close(menu, true); }
        else if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
          e.preventDefault(); close(menu, false); neighbour(menu, e.key === "ArrowRight" ? 1 : -1);
        }
      });
      menu.addEventListener("focusout", function (e) {
        if (!e.relatedTarget || !menu.contains(e.relatedTarget)) { close(menu, false); }
      });
    });
    document.addEventListener("click", function (e) {
      menus().forEach(function (m) { if (!m.contains(e.target)) { close(m, false); } });
    });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", setup); }
  else { setup(); }
}());
