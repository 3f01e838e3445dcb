// 折叠的代码块(smln_site.codefold):页面顶部的"显示全部代码"开关一次打开或折叠全部,选择记在 localStorage 里;
// 代码里文档字符串对笔记的引用变成可点的链接,文字不变(所以打开后的代码与 smln/ 中的文件一字不差,复制的也是它):
// "公式(notes/02b-optimizers.md):[adam-v][]、…" 里的每个 [ID][] 链接到那个公式,
// "notes/05-word-embeddings.md § [GloVe 向量][glove-向量]" 链接到那一节(litnotes/markup.py 的写法)。
(function () {
  var KEY = "smln.showCode";
  var DOC_REF = /公式\((notes\/[\w-]+)\.md\):|notes\/([\w-]+)\.md § \[[^\]\n]+\]\[([^\]\n]+)\]|\[([a-z][a-z0-9-]*)\]\[\]/g;

  function siteRoot() {
    var config = document.getElementById("__config");
    var base = config ? JSON.parse(config.textContent).base : ".";
    return new URL(base.replace(/\/?$/, "/"), location.href);
  }

  function target(note, anchor, root) {
    var here = location.pathname.replace(/\/$/, "").split("/").pop() || "index";
    if (note === here || (!note && document.getElementById(anchor))) return "#" + anchor;
    if (!note) return null;
    return new URL((note === "index" ? "" : note + "/") + "#" + anchor, root).href;
  }

  function linkify(code, root) {
    var walker = document.createTreeWalker(code, NodeFilter.SHOW_TEXT);
    var nodes = [];
    while (walker.nextNode()) nodes.push(walker.currentNode);
    nodes.forEach(function (node) {
      var text = node.nodeValue, last = 0, m, frag = null, note = null;
      DOC_REF.lastIndex = 0;
      while ((m = DOC_REF.exec(text))) {
        if (m[1]) { note = m[1].split("/").pop(); continue; }  // 公式(notes/…):后面的 ID 属于这篇笔记
        var href = m[2] ? target(m[2], m[3], root)
          : (document.getElementById(m[4]) ? "#" + m[4] : target(note, m[4], root));
        if (!href) continue;
        frag = frag || document.createDocumentFragment();
        frag.appendChild(document.createTextNode(text.slice(last, m.index)));
        var a = document.createElement("a");
        a.className = "smln-doclink";
        a.href = href;
        a.textContent = m[0];
        frag.appendChild(a);
        last = m.index + m[0].length;
      }
      if (frag) {
        frag.appendChild(document.createTextNode(text.slice(last)));
        node.parentNode.replaceChild(frag, node);
      }
    });
  }

  function apply(show) {
    document.querySelectorAll("details.smln-code").forEach(function (d) { d.open = show; });
  }

  document$.subscribe(function () {
    var blocks = document.querySelectorAll("details.smln-code");
    var heading = document.querySelector("article h1");
    if (!blocks.length || !heading) return;
    var root = siteRoot();
    blocks.forEach(function (d) { d.querySelectorAll("code").forEach(function (c) { linkify(c, root); }); });
    var show = localStorage.getItem(KEY) === "1";
    var label = document.createElement("label");
    label.className = "smln-show-code";
    var box = document.createElement("input");
    box.type = "checkbox";
    box.checked = show;
    label.appendChild(box);
    label.appendChild(document.createTextNode(" 显示全部代码(" + blocks.length + " 段)"));
    heading.insertAdjacentElement("afterend", label);
    box.addEventListener("change", function () {
      localStorage.setItem(KEY, box.checked ? "1" : "0");
      apply(box.checked);
    });
    apply(show);
  });
})();
