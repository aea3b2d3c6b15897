// A suggestion list under the composer (canned replies after "/", colleagues
// after "@"): arrows move, Enter or Tab or a click picks, Esc closes.
import { h, show } from "./dom.js";

export class Suggestions {
  /**
   * @param {HTMLUListElement} list
   * @param {{render: (item) => Node[], pick: (item) => void, itemTestId: string}} options
   */
  constructor(list, { render, pick, itemTestId }) {
    this.list = list;
    this.render = render;
    this.pick = pick;
    this.itemTestId = itemTestId;
    this.items = [];
    this.index = 0;
    // mousedown, not click: the textarea must keep its focus and caret.
    list.addEventListener("mousedown", (event) => {
      const li = event.target.closest("[data-index]");
      if (!li) return;
      event.preventDefault();
      this.choose(Number(li.dataset.index));
    });
  }

  get open() {
    return !this.list.hidden;
  }

  showItems(items, emptyText = "") {
    this.items = items;
    this.index = 0;
    if (!items.length && !emptyText) {
      this.close();
      return;
    }
    this.draw(emptyText);
    show(this.list, true);
  }

  draw(emptyText = "") {
    if (!this.items.length) {
      this.list.replaceChildren(h("li", { class: "suggestion-empty" }, emptyText));
      return;
    }
    this.list.replaceChildren(
      ...this.items.map((item, index) =>
        h(
          "li",
          {
            role: "option",
            class: index === this.index ? "suggestion is-selected" : "suggestion",
            "aria-selected": index === this.index ? "true" : "false",
            dataset: { index, testid: this.itemTestId },
          },
          ...this.render(item),
        ),
      ),
    );
    this.list.children[this.index]?.scrollIntoView({ block: "nearest" });
  }

  close() {
    this.items = [];
    show(this.list, false);
    this.list.replaceChildren();
  }

  choose(index) {
    const item = this.items[index];
    this.close();
    if (item !== undefined) this.pick(item);
  }

  /** Handles a key in the composer while open; returns whether it was used. */
  handleKey(event) {
    if (!this.open) return false;
    if (event.key === "Escape") {
      this.close();
      return true;
    }
    if (!this.items.length) return false;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      const step = event.key === "ArrowDown" ? 1 : -1;
      this.index = (this.index + step + this.items.length) % this.items.length;
      this.draw();
      return true;
    }
    if ((event.key === "Enter" && !event.shiftKey) || event.key === "Tab") {
      this.choose(this.index);
      return true;
    }
    return false;
  }
}
