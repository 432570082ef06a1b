// The /api/docs page: Swagger UI (vendored, served locally) over the generated OpenAPI document.
// Swagger UI has no Chinese translation: the few words of its own that a reader meets on this read-only
// page are put into Chinese as it renders them (the document's own text is Chinese already).
(function () {
  var node = document.getElementById("swagger-ui");
  if (!node || typeof window.SwaggerUIBundle !== "function") { return; }
  var WORDS = {
    "Authorize": "填写令牌", "Available authorizations": "可用的认证方式", "Close": "关闭",
    "Logout": "清除令牌", "Parameters": "参数", "No parameters": "无参数", "Name": "名称",
    "Description": "说明", "Request body": "请求体", "Responses": "返回", "Code": "状态码",
    "Links": "链接", "No links": "无", "Example Value": "示例", "Schema": "结构", "Media type": "内容类型",
    "Controls Accept header.": "决定请求头 Accept。", "required": "必填", "(path)": "（路径）",
    "(query)": "（查询参数）", "(header)": "（请求头）", "Value:": "值：", "Name:": "名称：", "In:": "位置：",
    "Try it out": "试用", "Cancel": "取消", "Execute": "执行", "Clear": "清除", "Default": "默认",
    "default": "其他"
  };
  function translate(root) {
    var walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    var text;
    while ((text = walker.nextNode())) {
      var said = text.nodeValue.trim();
      if (said && Object.prototype.hasOwnProperty.call(WORDS, said)) {
        text.nodeValue = text.nodeValue.replace(said, WORDS[said]);
      }
    }
  }
  new MutationObserver(function () { translate(node); }).observe(node, {
    childList: true, subtree: true, characterData: true  // React also rewrites text in place
  });
  window.SwaggerUIBundle({
    url: node.getAttribute("data-spec"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    defaultModelsExpandDepth: -1,  // no "Schemas" section: each operation shows its own bodies
    supportedSubmitMethods: [],  // read-only: the page explains, it does not call the API
    validatorUrl: null
  });
})();
