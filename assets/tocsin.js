// tocsin's incident page, live: the timeline and the room are drawn again
// by the server whenever they change. Without this script the page still
// works; it only needs reloading.
(function () {
  "use strict";
  var page = document.querySelector("[data-live]");
  if (!page || !window.EventSource) return;
  var stream = new EventSource(page.getAttribute("data-live"));
  function replace(id) {
    return function (event) {
      var box = document.getElementById(id);
      if (!box) return;
      var atBottom = box.scrollTop + box.clientHeight >= box.scrollHeight - 8;
      box.innerHTML = event.data;
      if (atBottom) box.scrollTop = box.scrollHeight;
    };
  }
  stream.addEventListener("timeline", replace("timeline"));
  stream.addEventListener("room", replace("room"));
  var room = document.getElementById("room");
  if (room) room.scrollTop = room.scrollHeight;
})();
