/*
 * Kessai card field — runs inside the iframe Kessai serves at /elements/card, on Kessai's
 * origin. The card number, expiry and security code live only here: the merchant's page
 * cannot read them (cross-origin), and this script sends them to one place, Kessai's own
 * POST /v1/payment_methods. It talks to the embedding page only through postMessage, to and
 * from the one origin Kessai checked against the merchant's registered origins.
 *
 * Listed in Kessai's script inventory (Sources/HTTP/ScriptInventory.swift) with its hash:
 * any change to this file must update the inventory, or the integrity check reports it.
 */
(function () {
  'use strict';

  var body = document.body;
  var publishableKey = body.getAttribute('data-key');
  var parentOrigin = body.getAttribute('data-origin');
  var locale = body.getAttribute('data-locale') === 'en' ? 'en' : 'ja';

  var TEXT = {
    ja: {
      number: 'カード番号', expiry: '有効期限 (MM / YY)', cvc: 'セキュリティコード',
      numberIncomplete: 'カード番号が不完全です。', numberInvalid: 'カード番号が正しくありません。',
      expiryIncomplete: '有効期限が不完全です。', expiryPast: '有効期限が過ぎています。', expiryInvalid: '有効期限の月が正しくありません。',
      cvcIncomplete: 'セキュリティコードが不完全です。', network: 'Kessai に接続できませんでした。もう一度お試しください。'
    },
    en: {
      number: 'Card number', expiry: 'Expiry (MM / YY)', cvc: 'Security code',
      numberIncomplete: 'Your card number is incomplete.', numberInvalid: 'Your card number is invalid.',
      expiryIncomplete: "Your card's expiration date is incomplete.", expiryPast: "Your card's expiration date is in the past.",
      expiryInvalid: "Your card's expiration month is invalid.",
      cvcIncomplete: "Your card's security code is incomplete.", network: 'Could not reach Kessai. Please try again.'
    }
  }[locale];

  var number = document.getElementById('number');
  var expiry = document.getElementById('expiry');
  var cvc = document.getElementById('cvc');
  var brandLabel = document.getElementById('brand');
  var message = document.getElementById('message');
  number.setAttribute('aria-label', TEXT.number);
  number.placeholder = '1234 1234 1234 1234';
  expiry.setAttribute('aria-label', TEXT.expiry);
  expiry.placeholder = 'MM / YY';
  cvc.setAttribute('aria-label', TEXT.cvc);
  cvc.placeholder = 'CVC';

  var BRANDS = [
    { brand: 'amex', name: 'American Express', test: /^3[47]/, lengths: [15], cvc: 4, groups: [4, 6, 5] },
    { brand: 'diners', name: 'Diners Club', test: /^(30[0-5]|36|38|39)/, lengths: [14, 16], cvc: 3, groups: [4, 6, 4] },
    { brand: 'jcb', name: 'JCB', test: /^(352[89]|35[3-8])/, lengths: [16], cvc: 3, groups: [4, 4, 4, 4] },
    { brand: 'visa', name: 'Visa', test: /^4/, lengths: [13, 16, 19], cvc: 3, groups: [4, 4, 4, 4, 3] },
    { brand: 'mastercard', name: 'Mastercard', test: /^(5[1-5]|222[1-9]|22[3-9]|2[3-6]|27[01]|2720)/, lengths: [16], cvc: 3, groups: [4, 4, 4, 4] },
    { brand: 'discover', name: 'Discover', test: /^(6011|65|64[4-9])/, lengths: [16, 19], cvc: 3, groups: [4, 4, 4, 4, 3] },
    { brand: 'unionpay', name: 'UnionPay', test: /^62/, lengths: [16, 17, 18, 19], cvc: 3, groups: [4, 4, 4, 4, 3] }
  ];

  function digits(text) { return text.replace(/\D/g, ''); }
  function brandOf(numberDigits) {
    for (var i = 0; i < BRANDS.length; i++) { if (BRANDS[i].test.test(numberDigits)) { return BRANDS[i]; } }
    return null;
  }
  function luhn(numberDigits) {
    var sum = 0;
    for (var i = 0; i < numberDigits.length; i++) {
      var d = numberDigits.charCodeAt(numberDigits.length - 1 - i) - 48;
      if (i % 2 === 1) { d *= 2; if (d > 9) { d -= 9; } }
      sum += d;
    }
    return sum % 10 === 0;
  }
  function group(numberDigits, brand) {
    var groups = brand ? brand.groups : [4, 4, 4, 4, 3];
    var out = [];
    var at = 0;
    for (var i = 0; i < groups.length && at < numberDigits.length; i++) {
      out.push(numberDigits.slice(at, at + groups[i]));
      at += groups[i];
    }
    return out.join(' ');
  }

  /** The state of the three inputs: what is wrong (the first problem), whether complete. */
  function check(final) {
    var n = digits(number.value);
    var brand = brandOf(n);
    var maxLength = brand ? Math.max.apply(null, brand.lengths) : 19;
    var state = { brand: brand ? brand.brand : 'unknown', complete: false, error: null };
    // A full-length number (16 digits for most brands; 15 Amex, 14 Diners) with a wrong check digit.
    if (brand && n.length >= Math.min(16, maxLength) && brand.lengths.indexOf(n.length) >= 0 && !luhn(n)) { state.error = TEXT.numberInvalid; return state; }
    // An unknown brand may still be a card Kessai accepts: any length from 12 to 19 with a valid check digit.
    var lengthDone = brand ? brand.lengths.indexOf(n.length) >= 0 : n.length >= 12;
    var numberDone = lengthDone && luhn(n);
    if (final && !numberDone) { state.error = lengthDone ? TEXT.numberInvalid : TEXT.numberIncomplete; return state; }

    var e = digits(expiry.value);
    var expiryDone = false;
    if (e.length >= 2) {
      var month = parseInt(e.slice(0, 2), 10);
      if (month < 1 || month > 12) { state.error = TEXT.expiryInvalid; return state; }
    }
    if (e.length === 4) {
      var m = parseInt(e.slice(0, 2), 10);
      var y = 2000 + parseInt(e.slice(2, 4), 10);
      var now = new Date();
      if (y < now.getFullYear() || (y === now.getFullYear() && m < now.getMonth() + 1)) { state.error = TEXT.expiryPast; return state; }
      expiryDone = true;
    }
    if (final && !expiryDone) { state.error = TEXT.expiryIncomplete; return state; }

    var c = digits(cvc.value);
    var cvcLength = brand ? brand.cvc : 3;
    var cvcDone = c.length === cvcLength;
    if (final && !cvcDone) { state.error = TEXT.cvcIncomplete; return state; }
    state.complete = !!(numberDone && expiryDone && cvcDone);
    return state;
  }

  function send(message) {
    // Only ever to the origin Kessai checked; never '*'.
    window.parent.postMessage(message, parentOrigin);
  }

  var lastSent = '';
  function update(final) {
    var state = check(final);
    var brand = brandOf(digits(number.value));
    brandLabel.textContent = brand ? brand.name : '';
    brandLabel.setAttribute('data-brand', state.brand);
    message.textContent = state.error || '';
    var summary = JSON.stringify(state);
    if (summary !== lastSent) {
      lastSent = summary;
      // What the page may know: the brand, whether the form is complete, the message. No digits.
      send({ kessai: 'change', brand: state.brand, complete: state.complete, error: state.error ? { message: state.error } : null });
    }
    return state;
  }

  number.addEventListener('input', function () {
    var n = digits(number.value).slice(0, 19);
    var formatted = group(n, brandOf(n));
    if (formatted !== number.value) { number.value = formatted; }
    update(false);
  });
  expiry.addEventListener('input', function () {
    var e = digits(expiry.value).slice(0, 4);
    var formatted = e.length > 2 ? e.slice(0, 2) + ' / ' + e.slice(2) : e;
    if (formatted !== expiry.value) { expiry.value = formatted; }
    update(false);
  });
  cvc.addEventListener('input', function () {
    var c = digits(cvc.value).slice(0, 4);
    if (c !== cvc.value) { cvc.value = c; }
    update(false);
  });
  [number, expiry, cvc].forEach(function (input) {
    input.addEventListener('blur', function () { if (input.value) { update(false); } });
    input.addEventListener('focus', function () { send({ kessai: 'focus' }); });
  });

  function form(fields) {
    var parts = [];
    Object.keys(fields).forEach(function (key) {
      if (fields[key] !== undefined && fields[key] !== null && fields[key] !== '') {
        parts.push(encodeURIComponent(key) + '=' + encodeURIComponent(String(fields[key])));
      }
    });
    return parts.join('&');
  }

  function billingFields(details) {
    var fields = {};
    if (!details || typeof details !== 'object') { return fields; }
    ['name', 'email', 'phone'].forEach(function (key) {
      if (typeof details[key] === 'string') { fields['billing_details[' + key + ']'] = details[key]; }
    });
    if (details.address && typeof details.address === 'object') {
      ['line1', 'line2', 'city', 'state', 'postal_code', 'country'].forEach(function (key) {
        if (typeof details.address[key] === 'string') { fields['billing_details[address][' + key + ']'] = details.address[key]; }
      });
    }
    return fields;
  }

  function tokenize(request) {
    var state = update(true);
    if (state.error) {
      send({ kessai: 'tokenized', id: request.id, error: { type: 'validation_error', code: 'incomplete', message: state.error } });
      return;
    }
    var e = digits(expiry.value);
    var fields = billingFields(request.billing_details);
    fields.type = 'card';
    fields['card[number]'] = digits(number.value);
    fields['card[exp_month]'] = e.slice(0, 2);
    fields['card[exp_year]'] = '20' + e.slice(2, 4);
    fields['card[cvc]'] = digits(cvc.value);
    var headers = { 'Authorization': 'Bearer ' + publishableKey, 'Content-Type': 'application/x-www-form-urlencoded' };
    if (typeof request.idempotency_key === 'string') { headers['Idempotency-Key'] = request.idempotency_key; }
    fetch('/v1/payment_methods', { method: 'POST', headers: headers, body: form(fields), credentials: 'omit', cache: 'no-store' })
      .then(function (response) { return response.json(); })
      .then(function (json) {
        if (json.error) {
          message.textContent = json.error.message || '';
          send({ kessai: 'tokenized', id: request.id, error: { type: json.error.type, code: json.error.code, message: json.error.message } });
          return;
        }
        // Only the token and what a receipt may show leave this frame.
        send({
          kessai: 'tokenized', id: request.id,
          paymentMethod: {
            id: json.id, object: 'payment_method', type: 'card',
            card: { brand: json.card.brand, last4: json.card.last4, exp_month: json.card.exp_month, exp_year: json.card.exp_year },
            billing_details: json.billing_details
          }
        });
      })
      .catch(function () {
        message.textContent = TEXT.network;
        send({ kessai: 'tokenized', id: request.id, error: { type: 'api_connection_error', message: TEXT.network } });
      });
  }

  window.addEventListener('message', function (event) {
    // Only the page that embeds this frame, from the origin Kessai checked, may ask anything.
    if (event.origin !== parentOrigin || event.source !== window.parent) { return; }
    var data = event.data;
    if (!data || typeof data !== 'object') { return; }
    if (data.kessai === 'tokenize' && typeof data.id === 'string') { tokenize(data); }
    if (data.kessai === 'clear') { number.value = ''; expiry.value = ''; cvc.value = ''; update(false); }
    if (data.kessai === 'focus') { number.focus(); }
  });

  send({ kessai: 'ready' });
})();
