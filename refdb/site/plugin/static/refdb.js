// Highlight every piece of a quoted passage when the address targets it (#q-<source id>):
// a quote may run across several mentions, so it is marked on each run it covers.
function refdbTargetQuote() {
  document.querySelectorAll(".refdb-quote.targeted").forEach((run) => run.classList.remove("targeted"));
  const id = decodeURIComponent(location.hash.slice(1));
  if (!id.startsWith("q-")) return;
  document.querySelectorAll(".refdb-quote").forEach((run) => {
    if (run.dataset.quotes.split(" ").includes(id)) run.classList.add("targeted");
  });
}
window.addEventListener("hashchange", refdbTargetQuote);
document.addEventListener("DOMContentLoaded", refdbTargetQuote);
