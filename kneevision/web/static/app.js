// KneeVision web app: plain JavaScript, no libraries, nothing inline (CSP default-src 'self').
"use strict";

function csrfToken() {
  const m = document.querySelector('meta[name="csrf-token"]');
  return m ? m.content : "";
}

// --- new trial: drag and drop, size check, upload progress --------------------------------
function setupUpload() {
  const form = document.getElementById("trial-form");
  if (!form) return;
  const input = document.getElementById("file");
  const drop = document.getElementById("drop");
  const shown = document.getElementById("chosen-files");
  const errBox = document.getElementById("client-error");
  const maxBytes = parseInt(form.dataset.maxBytes, 10);
  const showFiles = () => {
    shown.textContent = Array.from(input.files).map((f) => `${f.name} (${(f.size / 1e6).toFixed(1)} MB)`).join(", ");
  };
  const fail = (msg) => {
    errBox.textContent = msg;
    errBox.classList.remove("hidden");
  };
  input.addEventListener("change", showFiles);
  ["dragenter", "dragover"].forEach((ev) => drop.addEventListener(ev, (e) => {
    e.preventDefault();
    drop.classList.add("over");
  }));
  ["dragleave", "drop"].forEach((ev) => drop.addEventListener(ev, (e) => {
    e.preventDefault();
    drop.classList.remove("over");
  }));
  drop.addEventListener("drop", (e) => {
    if (e.dataTransfer && e.dataTransfer.files.length) {
      input.files = e.dataTransfer.files;
      showFiles();
    }
  });
  form.addEventListener("submit", (e) => {
    errBox.classList.add("hidden");
    const big = Array.from(input.files).filter((f) => f.size > maxBytes);
    if (big.length) {
      e.preventDefault();
      fail(`${big[0].name} is larger than the ${Math.round(maxBytes / 1e6)} MB limit: trim the clip or film a shorter one.`);
      return;
    }
    // Upload with a progress bar; the server answers with the queue page or the form and its error.
    e.preventDefault();
    const bar = document.getElementById("upload-progress");
    const button = document.getElementById("upload");
    bar.classList.remove("hidden");
    button.disabled = true;
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.upload.addEventListener("progress", (ev) => {
      if (ev.lengthComputable) bar.value = ev.loaded / ev.total;
    });
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300 && xhr.responseURL) {
        window.location.href = xhr.responseURL;
        return;
      }
      button.disabled = false;
      bar.classList.add("hidden");
      const doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
      const msg = doc.querySelector("#upload-error, .error[role=alert]");
      fail(msg ? msg.textContent : `the upload was refused (HTTP ${xhr.status})`);
    });
    xhr.addEventListener("error", () => {
      button.disabled = false;
      bar.classList.add("hidden");
      fail("the upload did not reach the server (connection lost)");
    });
    xhr.send(new FormData(form));
  });
}

// --- queue: live progress by server-sent events ---------------------------------------------
function cell(text, cls) {
  const td = document.createElement("td");
  if (cls) td.className = cls;
  td.textContent = text;
  return td;
}

function renderRow(j) {
  const tr = document.createElement("tr");
  tr.dataset.id = j.id;
  tr.dataset.status = j.status;
  const link = document.createElement("a");
  link.href = `/trials/${j.id}`;
  link.textContent = `#${j.id}`;
  const first = document.createElement("td");
  first.appendChild(link);
  tr.appendChild(first);
  tr.appendChild(cell(j.patient_id));
  tr.appendChild(cell(j.filename || ""));
  tr.appendChild(cell(j.status + (j.error ? `: ${j.error}` : ""), `status status-${j.status}`));
  const prog = document.createElement("td");
  const bar = document.createElement("progress");
  bar.max = 1;
  bar.value = j.progress;
  const pct = document.createElement("span");
  pct.className = "pct";
  pct.textContent = ` ${Math.round(j.progress * 100)}%`;
  prog.appendChild(bar);
  prog.appendChild(pct);
  tr.appendChild(prog);
  tr.appendChild(cell(`${j.frames}/${j.total_frames}`, "frames num"));
  tr.appendChild(cell(j.fps ? j.fps.toFixed(1) : "–", "fps num"));
  tr.appendChild(cell(j.eta_s ? `${Math.round(j.eta_s)} s` : "–", "eta num"));
  const act = document.createElement("td");
  if (j.status === "queued" || j.status === "running") {
    const f = document.createElement("form");
    f.method = "post";
    f.action = `/trials/${j.id}/cancel`;
    const h = document.createElement("input");
    h.type = "hidden";
    h.name = "csrf";
    h.value = csrfToken();
    const b = document.createElement("button");
    b.type = "submit";
    b.className = "small-button";
    b.textContent = "Cancel";
    f.appendChild(h);
    f.appendChild(b);
    act.appendChild(f);
  }
  tr.appendChild(act);
  return tr;
}

function setupQueue() {
  const table = document.getElementById("queue");
  if (!table || !window.EventSource) return;
  const body = table.querySelector("tbody");
  const es = new EventSource(table.dataset.events);
  es.onmessage = (ev) => {
    const jobs = JSON.parse(ev.data);
    body.replaceChildren(...jobs.map(renderRow));
    if (!jobs.length) {
      const tr = document.createElement("tr");
      tr.className = "empty";
      const td = cell("Nothing in the queue.");
      td.colSpan = 9;
      tr.appendChild(td);
      body.appendChild(tr);
    }
  };
}

// A pending trial page reloads itself when its analysis ends.
function setupPending() {
  const box = document.getElementById("pending");
  if (!box) return;
  const id = box.dataset.trial;
  const tick = () => {
    fetch(`/api/trials/${id}`, { credentials: "same-origin" }).then((r) => r.json()).then((t) => {
      if (t.status === "done" || t.status === "failed") {
        window.location.reload();
        return;
      }
      box.querySelector("progress").value = t.progress;
      box.querySelector(".pct").textContent = `${Math.round(t.progress * 100)}%`;
      setTimeout(tick, 1000);
    }).catch(() => setTimeout(tick, 3000));
  };
  setTimeout(tick, 1000);
}

// --- trial: the video, the angle curve, the repetitions -------------------------------------
function setupPlayer() {
  const video = document.getElementById("overlay");
  const svg = document.querySelector("svg.curve");
  const cursor = svg ? svg.querySelector(".cursor") : null;
  const seek = (t) => {
    if (!video) return;
    video.currentTime = t;
  };
  document.querySelectorAll("[data-seek]").forEach((el) => {
    el.addEventListener("click", () => {
      seek(parseFloat(el.dataset.seek));
      document.querySelectorAll("tr.rep-active").forEach((r) => r.classList.remove("rep-active"));
      const tr = el.closest("tr");
      if (tr) tr.classList.add("rep-active");
    });
  });
  if (!svg) return;
  const dur = parseFloat(svg.dataset.duration);
  const x0 = parseFloat(svg.dataset.x0);
  const w = parseFloat(svg.dataset.w);
  if (video && cursor) {
    const move = () => {
      const x = x0 + w * Math.min(1, video.currentTime / dur);
      cursor.setAttribute("x1", x);
      cursor.setAttribute("x2", x);
    };
    video.addEventListener("timeupdate", move);
    video.addEventListener("seeked", move);
  }
  svg.addEventListener("click", (e) => {
    const box = svg.getBoundingClientRect();
    const vb = svg.viewBox.baseVal;
    const x = (e.clientX - box.left) * (vb.width / box.width);
    const t = ((x - x0) / w) * dur;
    if (t >= 0 && t <= dur) seek(t);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  setupUpload();
  setupQueue();
  setupPending();
  setupPlayer();
});
