// Customer portal page: reads the signed token from the URL fragment (never sent to a server), calls the portal
// JSON API with it, and renders usage, wallets, top-up requests and invoices. Plain browser JavaScript, no build.
// Money arrives as integer minor units and is formatted with string operations only (no float arithmetic).
(function () {
  'use strict';

  var token = decodeURIComponent((window.location.hash || '').replace(/^#/, ''));
  var $ = function (id) { return document.getElementById(id); };

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'text') node.textContent = attrs[k];
      else if (k === 'className') node.className = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }

  /** Digits after the decimal point of a currency (ISO 4217 exponent: USD 2, JPY 0, KWD 3). */
  function exponentOf(currency) {
    try {
      return new Intl.NumberFormat('en', { style: 'currency', currency: currency }).resolvedOptions().maximumFractionDigits;
    } catch (e) {
      return 2;
    }
  }

  /** 123456 USD → "USD 1,234.56": integer cents to text, by string operations only. */
  function formatMoney(cents, currency) {
    var exp = exponentOf(currency);
    var negative = String(cents).charAt(0) === '-';
    var digits = String(cents).replace(/^-/, '');
    while (digits.length <= exp) digits = '0' + digits;
    var whole = exp === 0 ? digits : digits.slice(0, digits.length - exp);
    var frac = exp === 0 ? '' : '.' + digits.slice(digits.length - exp);
    whole = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    return (negative ? '-' : '') + currency + ' ' + whole + frac;
  }

  /** "50.5" in USD → 5050 (integer cents), or null when the text is not an amount of that currency. */
  function parseMoney(text, currency) {
    var exp = exponentOf(currency);
    var m = /^\s*(\d{1,12})(?:[.,](\d+))?\s*$/.exec(text || '');
    if (!m) return null;
    var frac = m[2] || '';
    if (frac.length > exp) return null;
    while (frac.length < exp) frac += '0';
    var cents = Number(m[1] + frac);
    return Number.isSafeInteger(cents) && cents > 0 ? cents : null;
  }

  function day(iso) { return iso ? String(iso).slice(0, 10) : ''; }

  function randomKey() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ('0' + b.toString(16)).slice(-2); }).join('');
  }

  function api(method, path, body) {
    return fetch('/portal/api' + path, {
      method: method,
      headers: Object.assign({ Authorization: 'Bearer ' + token }, body ? { 'Content-Type': 'application/json' } : {}),
      body: body ? JSON.stringify(body) : undefined,
      cache: 'no-store',
      credentials: 'omit',
    }).then(function (res) {
      if (res.status === 403) {
        return res.json().catch(function () { return {}; }).then(function (b) {
          var err = new Error(b.message || 'This portal link is not valid.');
          err.refused = true;
          throw err;
        });
      }
      return res;
    });
  }

  function apiJson(method, path, body) {
    return api(method, path, body).then(function (res) {
      return res.json().then(function (b) {
        if (!res.ok) throw new Error((b && (b.message || b.code)) || ('HTTP ' + res.status));
        return b;
      });
    });
  }

  function refuse(message) {
    $('status').hidden = true;
    $('content').hidden = true;
    $('refused').hidden = false;
    $('refused-message').textContent = message;
  }

  function renderUsage(subscriptions) {
    var box = $('usage');
    box.textContent = '';
    if (subscriptions.length === 0) {
      box.appendChild(el('p', { className: 'muted', text: 'No active subscription.' }));
      return;
    }
    var cards = el('div', { className: 'cards' });
    subscriptions.forEach(function (s) {
      var u = s.current_usage;
      var lines = el('table', { className: 'lines' }, [el('tbody', {}, u.charges_usage.map(function (c) {
        return el('tr', {}, [
          el('td', { text: c.billable_metric.name + ' · ' + c.units + ' units' }),
          el('td', { className: 'num', 'data-amount-cents': String(c.amount_cents), text: formatMoney(c.amount_cents, c.amount_currency) }),
        ]);
      }))]);
      cards.appendChild(el('div', { className: 'card', 'data-subscription': s.external_id }, [
        el('h3', { text: (s.name || s.plan_code) }),
        el('p', { className: 'muted small', text: 'Plan ' + s.plan_code + ' · ' + day(u.from_datetime) + ' to ' + day(u.to_datetime) }),
        el('p', { className: 'amount', 'data-testid': 'usage-amount', 'data-amount-cents': String(u.amount_cents), text: formatMoney(u.amount_cents, u.currency) }),
        el('p', { className: 'muted small', text: 'Usage so far this period, before taxes' }),
        u.charges_usage.length > 0 ? lines : null,
      ]));
    });
    box.appendChild(cards);
  }

  var topUpCurrency = null;
  var topUpWallet = null;

  function renderWallets(w, customerCurrency) {
    var box = $('wallets');
    box.textContent = '';
    topUpWallet = w.wallets.length > 0 ? w.wallets[0] : null;
    topUpCurrency = topUpWallet ? topUpWallet.currency : customerCurrency;
    if (!w.available || w.wallets.length === 0) {
      box.appendChild(el('p', { className: 'muted', 'data-testid': 'no-wallets', text: 'No prepaid wallet yet.' }));
    } else {
      var cards = el('div', { className: 'cards' });
      w.wallets.forEach(function (x) {
        cards.appendChild(el('div', { className: 'card', 'data-wallet': x.lago_id }, [
          el('h3', { text: x.name || 'Wallet' }),
          el('p', { className: 'amount', 'data-testid': 'wallet-balance', 'data-amount-cents': String(x.balance_cents), text: formatMoney(x.balance_cents, x.currency) }),
          x.credits_balance !== null ? el('p', { className: 'muted small', text: x.credits_balance + ' credits' }) : null,
        ]));
      });
      box.appendChild(cards);
    }
    $('top-up').hidden = !topUpCurrency;
    $('top-up-currency').textContent = topUpCurrency || '';
  }

  function renderTopUps(requests) {
    var list = $('top-up-requests');
    list.textContent = '';
    requests.forEach(function (r) {
      list.appendChild(el('li', { 'data-top-up': r.lago_id, text: 'Top-up of ' + formatMoney(r.amount_cents, r.currency) + ' requested on ' + day(r.created_at) + ' (' + r.status + ')' }));
    });
  }

  function download(inv, button) {
    button.disabled = true;
    api('GET', '/invoices/' + encodeURIComponent(inv.lago_id) + '/file').then(function (res) {
      if (!res.ok) throw new Error('The PDF could not be downloaded (HTTP ' + res.status + ').');
      return res.blob();
    }).then(function (blob) {
      var url = URL.createObjectURL(blob);
      var a = el('a', { href: url, download: (inv.number || inv.lago_id) + '.pdf' });
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
    }).catch(function (e) {
      if (e.refused) refuse(e.message); else window.alert(e.message);
    }).then(function () { button.disabled = false; });
  }

  function renderInvoices(invoices) {
    var box = $('invoices');
    box.textContent = '';
    if (invoices.length === 0) {
      box.appendChild(el('p', { className: 'muted', text: 'No invoice yet.' }));
      return;
    }
    var rows = invoices.map(function (inv) {
      var button = el('button', { type: 'button', className: 'link', 'data-testid': 'download', text: 'Download PDF' });
      button.addEventListener('click', function () { download(inv, button); });
      var state = inv.status === 'voided' ? 'voided' : inv.payment_overdue ? 'overdue' : inv.payment_status;
      return el('tr', { 'data-invoice-id': inv.lago_id }, [
        el('td', { 'data-label': 'Invoice', text: inv.number || inv.lago_id }),
        el('td', { 'data-label': 'Issued', text: inv.issuing_date || '' }),
        el('td', { 'data-label': 'Status' }, [el('span', { className: 'badge ' + state, text: state })]),
        el('td', { className: 'num', 'data-label': 'Total', 'data-testid': 'invoice-total', 'data-amount-cents': String(inv.total_amount_cents), text: formatMoney(inv.total_amount_cents, inv.currency) }),
        el('td', { 'data-label': 'PDF' }, [button]),
      ]);
    });
    box.appendChild(el('table', { className: 'invoices' }, [
      el('thead', {}, [el('tr', {}, ['Invoice', 'Issued', 'Status', 'Total', 'PDF'].map(function (h) {
        return el('th', { className: h === 'Total' ? 'num' : '', text: h });
      }))]),
      el('tbody', {}, rows),
    ]));
  }

  var pendingKey = null;
  var pendingAmount = null;
  $('top-up').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var result = $('top-up-result');
    var cents = parseMoney($('top-up-amount').value, topUpCurrency);
    if (cents === null) {
      result.textContent = 'Enter an amount in ' + topUpCurrency + ', for example 50.00.';
      return;
    }
    // The same amount submitted again (a double click, a retry after a network error) is the same request.
    if (pendingAmount !== cents) { pendingKey = randomKey(); pendingAmount = cents; }
    $('top-up-button').disabled = true;
    apiJson('POST', '/top_up_requests', { top_up_request: { amount_cents: cents, currency: topUpCurrency, wallet_id: topUpWallet ? topUpWallet.lago_id : null, request_key: pendingKey } })
      .then(function (b) {
        result.textContent = 'Top-up of ' + formatMoney(b.top_up_request.amount_cents, b.top_up_request.currency) + ' requested. We will contact you to complete it.';
        pendingKey = null; pendingAmount = null;
        $('top-up-amount').value = '';
        return apiJson('GET', '/summary').then(function (s) { renderTopUps(s.portal.top_up_requests); });
      })
      .catch(function (e) { if (e.refused) refuse(e.message); else result.textContent = 'The request failed: ' + e.message; })
      .then(function () { $('top-up-button').disabled = false; });
  });

  if (!token) {
    refuse('This page needs a portal link. Open the portal from the application that sent you here.');
    return;
  }
  Promise.all([apiJson('GET', '/summary'), apiJson('GET', '/invoices')]).then(function (r) {
    var p = r[0].portal;
    $('customer-name').textContent = (p.customer.name || p.customer.external_id) + (p.customer.email ? ' · ' + p.customer.email : '');
    renderUsage(p.subscriptions);
    renderWallets(p.wallets, p.customer.currency);
    renderTopUps(p.top_up_requests);
    renderInvoices(r[1].invoices);
    $('expires').textContent = 'This link is valid until ' + p.expires_at.replace('T', ' ').slice(0, 16) + ' UTC.';
    $('status').hidden = true;
    $('content').hidden = false;
    document.body.setAttribute('data-ready', 'true');
  }).catch(function (e) {
    if (e.refused) refuse(e.message);
    else { $('status').textContent = 'The portal could not be loaded: ' + e.message; }
    document.body.setAttribute('data-ready', 'true');
  });
})();
