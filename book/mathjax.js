// MathJax 2 settings for the book (Doxygen's MATHJAX_CODEFILE): a formula wider than the
// text column breaks at an operator or relation instead of making the page scroll sideways
// on a narrow screen; one that cannot break scrolls inside its own box (book.css).
MathJax.Hub.Config({
  "HTML-CSS": { linebreaks: { automatic: true, width: "container" } }
});
