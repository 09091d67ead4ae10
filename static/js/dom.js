// A tiny element builder. Text always goes in as text nodes, never as HTML: display names
// and server messages cannot inject markup. And keepView: what a re-render must not lose.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'testid') el.dataset.testid = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/** What a re-render of `root` by `fn` must not lose: focus, the caret, and the scroll position of lists. */
export function keepView(root, fn) {
  const active = document.activeElement;
  const focusId = active?.dataset?.testid;
  const caret = (active?.tagName === 'INPUT' || active?.tagName === 'TEXTAREA') && active.type !== 'checkbox'
    ? [active.selectionStart, active.selectionEnd] : null;
  const scrolls = new Map();
  for (const el of root.querySelectorAll('[data-scroll-keep]')) {
    const atEnd = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
    scrolls.set(el.dataset.scrollKeep, { top: el.scrollTop, atEnd });
  }
  fn();
  for (const el of root.querySelectorAll('[data-scroll-keep]')) {
    const was = scrolls.get(el.dataset.scrollKeep);
    // New lines keep a list that was at its end at its end; otherwise stay where the reader is.
    if (was) el.scrollTop = was.atEnd && el.dataset.stick === 'end' ? el.scrollHeight : was.top;
    else if (el.dataset.stick === 'end') el.scrollTop = el.scrollHeight;
  }
  if (focusId && document.activeElement !== active) {
    const el = root.querySelector(`[data-testid="${CSS.escape(focusId)}"]`);
    if (el) {
      el.focus({ preventScroll: true });
      if (caret && el.setSelectionRange) {
        try {
          el.setSelectionRange(caret[0], caret[1]);
        } catch {
          /* not a text field */
        }
      }
    }
  }
}
