"""A pizza order form in Tk (python3-tk), for the held-out task suite (assets/heldout).

Not a practice app: lite was not developed on it. Widgets: an Entry (Name), Radiobuttons
(Size), Checkbuttons (Olives, Mushrooms), a Spinbox (Quantity 1-10), a Scale (Spice 0-10) and
a "Place order" button that asks "Place this order?" (Yes/No). Ticking Olives shows an
information box ("Olives are black olives today") that must be dismissed. An empty name on
"Place order" shows an error box. The confirmed order is written as JSON to ``--state``:
``{"orders": [{"name", "size", "olives", "mushrooms", "quantity", "spice"}]}``.

    python3 order_form.py --state /tmp/order.json [--name Ada]
"""

import argparse
import json
import tkinter as tk
from tkinter import messagebox


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--state", required=True)
    ap.add_argument("--name", default="")
    args = ap.parse_args()
    orders: list = []

    def save() -> None:
        with open(args.state, "w", encoding="utf-8") as f:
            json.dump({"orders": orders}, f)

    save()
    root = tk.Tk()
    root.title("Pizza order")
    root.geometry("+300+150")
    font = ("DejaVu Sans", 12)
    root.option_add("*Font", font)
    name = tk.StringVar(value=args.name)
    size = tk.StringVar(value="Medium")
    olives = tk.BooleanVar(value=False)
    mushrooms = tk.BooleanVar(value=False)
    quantity = tk.StringVar(value="1")
    spice = tk.IntVar(value=2)

    frm = tk.Frame(root, padx=16, pady=12)
    frm.pack()
    tk.Label(frm, text="Name").grid(row=0, column=0, sticky="w", pady=4)
    tk.Entry(frm, textvariable=name, width=24).grid(row=0, column=1, columnspan=3, sticky="w")
    tk.Label(frm, text="Size").grid(row=1, column=0, sticky="w", pady=4)
    for i, s in enumerate(("Small", "Medium", "Large")):
        tk.Radiobutton(frm, text=s, value=s, variable=size).grid(row=1, column=1 + i, sticky="w")

    def olives_changed() -> None:
        if olives.get():
            messagebox.showinfo("Note", "Olives are black olives today.", parent=root)

    tk.Label(frm, text="Toppings").grid(row=2, column=0, sticky="w", pady=4)
    tk.Checkbutton(frm, text="Olives", variable=olives, command=olives_changed).grid(row=2, column=1, sticky="w")
    tk.Checkbutton(frm, text="Mushrooms", variable=mushrooms).grid(row=2, column=2, sticky="w")
    tk.Label(frm, text="Quantity").grid(row=3, column=0, sticky="w", pady=4)
    tk.Spinbox(frm, from_=1, to=10, textvariable=quantity, width=5).grid(row=3, column=1, sticky="w")
    tk.Label(frm, text="Spice").grid(row=4, column=0, sticky="w", pady=4)
    tk.Scale(frm, from_=0, to=10, orient="horizontal", variable=spice, length=220).grid(
        row=4, column=1, columnspan=3, sticky="w")

    def place() -> None:
        if not name.get().strip():
            messagebox.showerror("Missing name", "Please enter a name.", parent=root)
            return
        if not messagebox.askyesno("Confirm", "Place this order?", parent=root):
            return
        try:
            qty = int(quantity.get())
        except ValueError:
            qty = None
        orders.append({"name": name.get().strip(), "size": size.get(), "olives": olives.get(),
                       "mushrooms": mushrooms.get(), "quantity": qty, "spice": spice.get()})
        save()

    tk.Button(frm, text="Place order", command=place).grid(row=5, column=0, columnspan=4, pady=10)
    root.mainloop()


if __name__ == "__main__":
    main()
