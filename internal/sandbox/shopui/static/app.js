// The Unicorn Shop (sandbox). Plain JavaScript, no build step.
//
// As the lab's UI: read config.json from the site (the region and the regional API,
// whichever origin CloudFront served it from), keep the user in local storage, and call
// the API in config.json's host directly, cross-origin.
"use strict";

(() => {
  const USER_KEY = "unishop.user";
  const VIEWS = ["unicorns", "cart", "signup", "login"];
  const state = { config: null, unicorns: [], cart: [], user: loadUser() };
  const $ = (id) => document.getElementById(id);

  function loadUser() {
    try {
      const u = JSON.parse(localStorage.getItem(USER_KEY));
      return u && typeof u.uuid === "string" && u.uuid ? u : null;
    } catch {
      return null;
    }
  }

  function saveUser(u) {
    state.user = u;
    if (u) {
      localStorage.setItem(USER_KEY, JSON.stringify({ uuid: u.uuid, email: u.email, firstName: u.firstName || "", lastName: u.lastName || "" }));
    } else {
      localStorage.removeItem(USER_KEY);
    }
  }

  function say(text) {
    $("error").textContent = "";
    $("status").textContent = text;
  }

  function fail(text) {
    $("status").textContent = "";
    $("error").textContent = text;
  }

  const money = (n) => "$" + Number(n).toFixed(2);

  // api calls config.json's host and returns the parsed JSON body (null when empty).
  // Its errors say what a person needs: which API, what it answered.
  async function api(method, path, body) {
    const url = state.config.host + path;
    const init = { method, cache: "no-store" };
    if (body !== undefined) {
      init.headers = { "Content-Type": "application/json" };
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(url, init);
    } catch (e) {
      throw new Error(`The shop's API in ${state.config.region} could not be reached (${e.message}).`);
    }
    const text = await res.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (!res.ok) {
      const detail = data && data.message ? data.message : text.slice(0, 200);
      const err = new Error(`The shop's API in ${state.config.region} answered ${res.status} ${res.statusText}${detail ? ": " + detail : "."}`);
      err.status = res.status;
      throw err;
    }
    return data;
  }

  async function loadConfig() {
    const res = await fetch("config.json", { cache: "no-store" });
    if (!res.ok) {
      throw new Error(`config.json could not be read: ${res.status} ${res.statusText}.`);
    }
    const c = await res.json();
    if (!c || typeof c.host !== "string" || !c.host || typeof c.region !== "string") {
      throw new Error("config.json does not name the API host and region.");
    }
    state.config = { host: c.host.replace(/\/+$/, ""), region: c.region };
    const at = new Date();
    $("region").textContent = c.region;
    document.title = "The Unicorn Shop - " + c.region;
    $("api-host").textContent = state.config.host;
    const t = $("config-at");
    t.dateTime = at.toISOString();
    t.textContent = at.toLocaleTimeString("en-GB", { hour12: false }) + "." + String(at.getMilliseconds()).padStart(3, "0");
  }

  function renderUser() {
    const u = state.user;
    $("who").textContent = u ? "Logged in as " + u.email : "Not logged in";
    $("nav-logout").hidden = !u;
    $("nav-login").hidden = !!u;
  }

  function countIn(uuid) {
    return state.cart.filter((id) => id === uuid).length;
  }

  function renderCatalogue() {
    const list = $("catalogue");
    list.replaceChildren();
    for (const u of state.unicorns) {
      const li = document.createElement("li");
      li.className = "card";
      li.dataset.uuid = u.uuid;
      const img = document.createElement("img");
      img.loading = "lazy"; // only what is on screen: the page is usable sooner on a phone
      img.src = u.image;
      img.alt = "Picture of " + u.name;
      img.width = 240;
      img.height = 180;
      const h = document.createElement("h3");
      h.textContent = u.name;
      const desc = document.createElement("p");
      desc.className = "desc";
      desc.textContent = u.description;
      const price = document.createElement("p");
      price.className = "price";
      price.textContent = money(u.price);
      const actions = document.createElement("div");
      actions.className = "actions";
      actions.append(button("Add to cart", u.name, "add", () => changeCart("POST", u)));
      const n = countIn(u.uuid);
      if (n > 0) {
        actions.append(button("Remove", u.name, "remove", () => changeCart("DELETE", u), "secondary"));
        const inCart = document.createElement("p");
        inCart.className = "incart";
        inCart.textContent = `In cart: ${n}`;
        actions.append(inCart);
      }
      li.append(img, h, desc, price, actions);
      list.append(li);
    }
  }

  // button has a visible label and, for screen readers, the unicorn it acts on.
  function button(label, name, action, onClick, cls) {
    const b = document.createElement("button");
    b.type = "button";
    b.dataset.action = action;
    if (cls) b.className = cls;
    b.append(label + " ");
    const hidden = document.createElement("span");
    hidden.className = "vh";
    hidden.textContent = name;
    b.append(hidden);
    b.addEventListener("click", async () => {
      b.disabled = true;
      try {
        await onClick();
      } finally {
        b.disabled = false;
      }
    });
    return b;
  }

  function renderCart() {
    const list = $("cart-items");
    list.replaceChildren();
    const byId = new Map(state.unicorns.map((u) => [u.uuid, u]));
    const counts = new Map();
    for (const id of state.cart) counts.set(id, (counts.get(id) || 0) + 1);
    let total = 0;
    for (const [id, n] of counts) {
      const u = byId.get(id) || { uuid: id, name: "Unknown unicorn " + id, price: 0, image: "" };
      total += n * u.price;
      const li = document.createElement("li");
      li.dataset.uuid = id;
      li.dataset.quantity = String(n);
      const img = document.createElement("img");
      img.loading = "lazy";
      if (u.image) img.src = u.image;
      img.alt = "";
      img.width = 64;
      img.height = 48;
      const text = document.createElement("div");
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = u.name;
      const qty = document.createElement("span");
      qty.className = "qty";
      qty.textContent = `Quantity ${n} × ${money(u.price)}`;
      text.append(name, qty);
      li.append(img, text, button("Remove", u.name, "remove", () => changeCart("DELETE", u), "secondary"));
      list.append(li);
    }
    $("cart-count").textContent = String(state.cart.length);
    $("cart-empty").textContent = state.user ? "Your cart is empty." : "Log in to see your cart.";
    $("cart-empty").hidden = state.cart.length > 0;
    $("cart-total").textContent = state.cart.length > 0 ? "Total " + money(total) : "";
  }

  async function loadCart() {
    if (!state.user) {
      state.cart = [];
      return;
    }
    const c = await api("GET", "/unicorns/basket/" + encodeURIComponent(state.user.uuid));
    state.cart = (c && Array.isArray(c.unicorns) ? c.unicorns : []).map((x) => x.uuid);
  }

  async function changeCart(method, u) {
    if (!state.user) {
      fail("Log in first: the cart belongs to a user.");
      location.hash = "#login";
      return;
    }
    try {
      await api(method, "/unicorns/basket", { uuid: state.user.uuid, unicorns: [{ uuid: u.uuid }] });
      await loadCart();
      renderCatalogue();
      renderCart();
      say(method === "POST" ? `${u.name} added to your cart.` : `${u.name} removed from your cart.`);
    } catch (e) {
      fail((method === "POST" ? "Could not add to the cart. " : "Could not remove from the cart. ") + e.message);
    }
  }

  function show(view) {
    if (!VIEWS.includes(view)) view = "unicorns";
    for (const v of VIEWS) $("view-" + v).hidden = v !== view;
    return view;
  }

  function route(focus) {
    const view = show(location.hash.replace(/^#/, ""));
    if (focus) $("h-" + view).focus();
  }

  async function signUp(ev) {
    ev.preventDefault();
    const email = $("signup-email").value.trim();
    if (!email) {
      fail("Sign-up needs an e-mail address.");
      $("signup-email").focus();
      return;
    }
    const submit = ev.submitter || $("signup-form").querySelector("button");
    submit.disabled = true;
    try {
      const u = await api("POST", "/user", { email, firstName: $("signup-first").value.trim(), lastName: $("signup-last").value.trim() });
      $("signup-form").reset();
      $("login-email").value = u.email;
      location.hash = "#login";
      say(`Signed up as ${u.email}. Now log in with your e-mail.`);
    } catch (e) {
      fail("Sign-up failed. " + e.message);
    } finally {
      submit.disabled = false;
    }
  }

  async function logIn(ev) {
    ev.preventDefault();
    const email = $("login-email").value.trim();
    if (!email) {
      fail("Log in needs the e-mail address you signed up with.");
      $("login-email").focus();
      return;
    }
    const submit = ev.submitter || $("login-form").querySelector("button");
    submit.disabled = true;
    try {
      const u = await api("POST", "/user/login", { email });
      saveUser(u);
      renderUser();
      await loadCart();
      renderCatalogue();
      renderCart();
      location.hash = "#unicorns";
      say(`Logged in as ${u.email}.`);
    } catch (e) {
      fail(e.status === 400 ? `Log in failed: the shop does not know ${email}. Sign up first.` : "Log in failed. " + e.message);
    } finally {
      submit.disabled = false;
    }
  }

  function logOut() {
    saveUser(null);
    state.cart = [];
    renderUser();
    renderCatalogue();
    renderCart();
    say("Logged out.");
  }

  async function start() {
    $("signup-form").addEventListener("submit", signUp);
    $("login-form").addEventListener("submit", logIn);
    $("logout").addEventListener("click", logOut);
    window.addEventListener("hashchange", () => route(true));
    route(false);
    renderUser();
    try {
      await loadConfig();
      state.unicorns = (await api("GET", "/unicorns/")) || [];
      await loadCart();
      renderCatalogue();
      renderCart();
    } catch (e) {
      fail(e.message);
    } finally {
      $("main").setAttribute("aria-busy", "false");
    }
  }

  start();
})();
