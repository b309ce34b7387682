// Quay's local OAuth handler page (localapp.html): shows the token POST /oauth/authorizeapp put in
// the URL fragment. A file of its own, so the page's Content-Security-Policy needs no inline script.
const fragment = new URLSearchParams(location.hash.slice(1));
const query = new URLSearchParams(location.search);
const token = fragment.get("access_token");
if (token) {
  document.getElementById("token").textContent = token;
  document.getElementById("scope").textContent = `Scopes: ${query.get("scope") || ""}`;
  // Drop the token from the address bar and history.
  history.replaceState(null, "", location.pathname);
} else {
  document.getElementById("intro").textContent = query.get("error")
    ? `No token: ${query.get("error")}`
    : "No token was given.";
}
