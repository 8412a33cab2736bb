// The upload page: send the file straight to storage with a real progress bar (bytes sent),
// then follow the pipeline's stages by polling the upload's status until it finishes.
// Without scripts the form posts the file to the page itself (small files).
(function () {
  "use strict";
  var root = document.getElementById("uploader");
  if (!root) { return; }
  var form = document.getElementById("upload-form");
  var bar = document.getElementById("upload-progress");
  var bytesText = document.getElementById("upload-bytes");
  var statusText = document.getElementById("pipeline-status");
  var errorBox = document.getElementById("upload-error");
  var stageItems = document.querySelectorAll("#pipeline-stages li[data-stage]");
  var stageBar = document.getElementById("stage-progress");
  var ZERO = "00000000-0000-0000-0000-000000000000";
  var order = ["upload", "validate", "profile", "anonymise", "publish", "done"];
  var csrf = form ? form.querySelector("input[name=csrfmiddlewaretoken]").value : "";
  var labels = JSON.parse(document.getElementById("upload-labels").textContent);

  function fmt(n) {
    if (n < 1024) { return n + " B"; }
    if (n < 1048576) { return (n / 1024).toFixed(1) + " KB"; }
    return (n / 1048576).toFixed(1) + " MB";
  }
  function showError(message) {
    errorBox.hidden = false;
    errorBox.textContent = message;
    var button = form && form.querySelector("button[type=submit]");
    if (button) { button.disabled = false; }
  }
  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
      body: JSON.stringify(body || {})
    }).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) { throw new Error(data.message || labels.failed); }
        return data;
      });
    });
  }
  function put(url, blob, offset, total) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open("PUT", url);
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) { showBytes(offset + e.loaded, total); }
      });
      xhr.onload = function () {
        if (xhr.status >= 200 && xhr.status < 300) {
          resolve((xhr.getResponseHeader("ETag") || "").replace(/"/g, ""));
        } else { reject(failure(labels.transfer_failed + " (" + xhr.status + ")", xhr.status)); }
      };
      xhr.onerror = function () { reject(failure(labels.transfer_failed, 0)); };
      xhr.send(blob);
    });
  }
  function failure(message, status) {
    var error = new Error(message);
    error.status = status;
    return error;
  }
  // A part (or a small file's single PUT) that fails on the network or with a server error is
  // sent again on its own, after a short pause; the parts already stored stay where they are.
  var TRIES = 4;
  function putRetrying(url, blob, offset, total, attempt) {
    attempt = attempt || 1;
    return put(url, blob, offset, total).catch(function (err) {
      var retriable = !err.status || err.status === 408 || err.status === 429 || err.status >= 500;
      if (!retriable || attempt >= TRIES) { throw err; }
      return new Promise(function (resolve) { window.setTimeout(resolve, 400 * attempt); })
        .then(function () { return putRetrying(url, blob, offset, total, attempt + 1); });
    });
  }
  function showBytes(sent, total) {
    bar.max = total; bar.value = sent;
    bytesText.textContent = labels.bytes.replace("%(sent)s", fmt(sent)).replace("%(total)s", fmt(total));
  }
  function showStage(state) {
    var current = state.stage;
    var index = order.indexOf(current);
    stageItems.forEach(function (li) {
      var i = order.indexOf(li.getAttribute("data-stage"));
      li.className = i < index || state.status === "published" ? "done" : (i === index ? "current" : "");
      if (i === index && (state.status === "rejected" || state.status === "failed")) { li.className = "failed"; }
      li.setAttribute("aria-current", i === index ? "step" : "false");
    });
    stageBar.value = state.status === "published" ? 1 : (state.progress || 0);
    statusText.textContent = (labels.statuses[state.status] || state.status) +
      (labels.stages[current] && !state.finished ? " · " + labels.stages[current] : "");
  }
  function poll(id) {
    fetch(root.getAttribute("data-status-url").replace(ZERO, id), {credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (data) {
        var state = data.upload;
        showStage(state);
        if (state.finished) {
          if (state.status === "published") {
            window.location.reload();
          } else {
            showError(state.error_reason || labels.failed);
          }
        } else { window.setTimeout(function () { poll(id); }, 700); }
      })
      .catch(function () { window.setTimeout(function () { poll(id); }, 2000); });
  }
  function sendParts(start, file) {
    var etags = [], size = start.part_size, i = 0;
    function next() {
      if (i >= start.parts.length) { return Promise.resolve(etags); }
      var part = start.parts[i++];
      var from = (part.part_number - 1) * size;
      return putRetrying(part.url, file.slice(from, from + size), from, file.size)
        .then(function (etag) {
          etags.push({part_number: part.part_number, etag: etag});
          return next();
        });
    }
    // Without the parts' ETags (a store that does not expose the header to scripts) the server
    // asks the store which parts arrived.
    return next().then(function (list) {
      return list.every(function (p) { return p.etag; }) ? list : null;
    });
  }
  if (form) {
    form.addEventListener("submit", function (event) {
      var input = form.querySelector("input[type=file]");
      if (!input.files.length || !window.fetch) { return; } // let the browser show the error
      event.preventDefault();
      errorBox.hidden = true;
      form.querySelector("button[type=submit]").disabled = true;
      var file = input.files[0];
      var policy = form.querySelector("textarea[name=policy]");
      document.getElementById("progress-panel").hidden = false;
      showBytes(0, file.size);
      statusText.textContent = labels.statuses.awaiting_upload;
      post(root.getAttribute("data-start-url"), {
        filename: file.name, size: file.size, policy: policy ? policy.value : ""
      }).then(function (start) {
        var id = start.upload.id;
        var sent = start.method === "PUT"
          ? putRetrying(start.url, file, 0, file.size).then(function () { return null; })
          : sendParts(start, file);
        return sent.then(function (parts) {
          showBytes(file.size, file.size);
          return post(root.getAttribute("data-complete-url").replace(ZERO, id),
                      parts ? {parts: parts} : {});
        }).then(function (done) { showStage(done.upload); poll(id); });
      }).catch(function (err) { showError(err.message); });
    });
  }
  var existing = root.getAttribute("data-active-upload");
  if (existing) { document.getElementById("progress-panel").hidden = false; poll(existing); }
})();
