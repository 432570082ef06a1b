// The /api/docs page: Swagger UI (vendored, served locally) over the generated OpenAPI document.
(function () {
  var node = document.getElementById("swagger-ui");
  if (!node || typeof window.SwaggerUIBundle !== "function") { return; }
  window.SwaggerUIBundle({
    url: node.getAttribute("data-spec"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    supportedSubmitMethods: [],  // read-only: the page explains, it does not call the API
    validatorUrl: null
  });
})();
