// 用仓库里的 KaTeX 渲染 pymdownx.arithmatex(generic 模式)输出的公式。
// material 的即时导航(navigation.instant)每换一页都会发出 document$,所以每页都重新渲染。
document$.subscribe(function () {
  document.querySelectorAll(".arithmatex").forEach(function (el) {
    if (el.dataset.katex) return;
    var display = el.tagName === "DIV";
    var tex = el.textContent.trim().replace(/^\\[(\[]/, "").replace(/\\[)\]]$/, "");
    katex.render(tex, el, { displayMode: display, throwOnError: false, strict: "ignore" });
    el.dataset.katex = "done";
  });
});
