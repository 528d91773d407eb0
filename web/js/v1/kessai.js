/*
 * kessai.js v1 — Kessai's library for the merchant's payment page.
 *
 *   <script src="https://KESSAI/js/v1/kessai.js" integrity="sha384-…" crossorigin="anonymous"></script>
 *   var kessai = Kessai('pk_test_…');
 *   var card = kessai.elements({ locale: 'ja' }).create('card');
 *   card.mount('#card-element');
 *   kessai.createPaymentMethod({ type: 'card', card: card, billing_details: { name: '…' } })
 *     .then(function (result) { result.paymentMethod.id  or  result.error.message });
 *   kessai.confirmCardPayment(clientSecret, { payment_method: { card: card } })
 *     .then(function (result) { result.paymentIntent.status  or  result.error.message });
 *
 * The card fields are an iframe on Kessai's origin: this script never sees a card number. It
 * talks to the iframe only through postMessage, to Kessai's origin, and accepts messages only
 * from that iframe. The integrity hash is published at /js/v1/inventory.json and in Kessai's
 * script inventory; pin it with `integrity` so a changed copy is refused by the browser.
 */
(function () {
  'use strict';

  var script = document.currentScript;
  var KESSAI_ORIGIN = script && script.src ? new URL(script.src).origin : window.location.origin;

  function newID() {
    var bytes = new Uint8Array(12);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ('0' + b.toString(16)).slice(-2); }).join('');
  }

  function form(fields) {
    return Object.keys(fields).filter(function (key) { return fields[key] !== undefined && fields[key] !== null; })
      .map(function (key) { return encodeURIComponent(key) + '=' + encodeURIComponent(String(fields[key])); }).join('&');
  }

  function intentIDFrom(clientSecret) {
    var match = typeof clientSecret === 'string' && /^(pi_[A-Za-z0-9]+)_secret_[A-Za-z0-9]+$/.exec(clientSecret);
    return match ? match[1] : null;
  }

  var JAPANESE = {
    card_declined: 'カードが承認されませんでした。別のカードをお試しください。',
    generic_decline: 'カードが承認されませんでした。別のカードをお試しください。',
    insufficient_funds: 'カードの利用可能額が不足しています。',
    lost_card: 'このカードはご利用いただけません。', stolen_card: 'このカードはご利用いただけません。',
    expired_card: 'このカードは有効期限が切れています。',
    incorrect_cvc: 'セキュリティコードが正しくありません。', invalid_cvc: 'セキュリティコードが正しくありません。',
    incorrect_number: 'カード番号が正しくありません。', invalid_number: 'カード番号が正しくありません。',
    processing_error: '処理中にエラーが発生しました。もう一度お試しください。',
    payment_intent_authentication_failure: '本人認証 (3-D Secure) に失敗しました。別のカードをお試しください。'
  };

  /** Stripe.js answers in the buyer's language; so does this, for card errors it knows. */
  function localize(error, locale) {
    if (!error || locale !== 'ja') { return error; }
    var text = JAPANESE[error.decline_code] || JAPANESE[error.code];
    if (!text) { return error; }
    var copy = {};
    Object.keys(error).forEach(function (key) { copy[key] = error[key]; });
    copy.message = text;
    return copy;
  }

  function CardElement(kessai, options) {
    this._kessai = kessai;
    this._options = options || {};
    this._handlers = {};
    this._pending = {};
    this._frame = null;
    this._ready = false;
    this._queue = [];
    var self = this;
    this._listener = function (event) {
      if (!self._frame || event.origin !== KESSAI_ORIGIN || event.source !== self._frame.contentWindow) { return; }
      var data = event.data;
      if (!data || typeof data !== 'object') { return; }
      if (data.kessai === 'ready') {
        self._ready = true;
        self._queue.splice(0).forEach(function (message) { self._post(message); });
        self._emit('ready', {});
      } else if (data.kessai === 'change') {
        self._emit('change', { elementType: 'card', brand: data.brand, complete: !!data.complete, empty: false, error: data.error || undefined });
      } else if (data.kessai === 'focus') {
        self._emit('focus', {});
      } else if (data.kessai === 'tokenized' && self._pending[data.id]) {
        var resolve = self._pending[data.id];
        delete self._pending[data.id];
        resolve(data.error ? { error: data.error } : { paymentMethod: data.paymentMethod });
      }
    };
    window.addEventListener('message', this._listener);
  }

  CardElement.prototype._post = function (message) {
    if (!this._ready) { this._queue.push(message); return; }
    this._frame.contentWindow.postMessage(message, KESSAI_ORIGIN);
  };
  CardElement.prototype._emit = function (name, event) {
    (this._handlers[name] || []).forEach(function (handler) { handler(event); });
  };
  CardElement.prototype.on = function (name, handler) {
    (this._handlers[name] = this._handlers[name] || []).push(handler);
    return this;
  };
  CardElement.prototype.mount = function (target) {
    var container = typeof target === 'string' ? document.querySelector(target) : target;
    if (!container) { throw new Error('Kessai: no element matches ' + target); }
    var query = form({ key: this._kessai._key, origin: window.location.origin, locale: this._kessai._locale });
    var frame = document.createElement('iframe');
    frame.src = KESSAI_ORIGIN + '/elements/card?' + query;
    frame.title = this._kessai._locale === 'en' ? 'Secure card payment input' : 'カード情報の入力 (安全な入力欄)';
    frame.setAttribute('allow', 'payment');
    frame.setAttribute('scrolling', 'no');
    frame.style.cssText = 'border:0;width:100%;height:' + (this._options.height || '132px') + ';display:block;overflow:hidden;';
    frame.className = 'KessaiElement';
    container.appendChild(frame);
    this._frame = frame;
    return this;
  };
  CardElement.prototype.focus = function () { this._post({ kessai: 'focus' }); };
  CardElement.prototype.clear = function () { this._post({ kessai: 'clear' }); };
  CardElement.prototype.unmount = function () {
    if (this._frame && this._frame.parentNode) { this._frame.parentNode.removeChild(this._frame); }
    this._frame = null;
    this._ready = false;
  };
  CardElement.prototype.destroy = function () {
    this.unmount();
    window.removeEventListener('message', this._listener);
  };
  CardElement.prototype._tokenize = function (billingDetails) {
    var self = this;
    if (!this._frame) { return Promise.resolve({ error: { type: 'integration_error', message: 'Kessai: mount the card element before using it.' } }); }
    return new Promise(function (resolve) {
      var id = newID();
      self._pending[id] = resolve;
      self._post({ kessai: 'tokenize', id: id, billing_details: billingDetails || {} });
    });
  };

  function Kessai(publishableKey, options) {
    if (!(this instanceof Kessai)) { return new Kessai(publishableKey, options); }
    if (typeof publishableKey !== 'string' || !/^pk_(test|live)_/.test(publishableKey)) {
      throw new Error('Kessai: a publishable key (pk_test_… or pk_live_…) is required. Never put a secret key in a web page.');
    }
    this._key = publishableKey;
    var locale = (options && options.locale) || (navigator.language || 'ja');
    this._locale = /^en/i.test(locale) ? 'en' : 'ja';
  }

  Kessai.prototype.elements = function (options) {
    var kessai = this;
    if (options && options.locale) { kessai._locale = /^en/i.test(options.locale) ? 'en' : 'ja'; }
    return {
      create: function (type, elementOptions) {
        if (type !== 'card') { throw new Error('Kessai: unsupported element type ' + type + "; use 'card'."); }
        return new CardElement(kessai, elementOptions);
      }
    };
  };

  Kessai.prototype._api = function (method, path, fields) {
    var init = {
      method: method, credentials: 'omit', cache: 'no-store',
      headers: { 'Authorization': 'Bearer ' + this._key }
    };
    if (method === 'POST') {
      init.headers['Content-Type'] = 'application/x-www-form-urlencoded';
      init.body = form(fields || {});
    } else if (fields) {
      path += '?' + form(fields);
    }
    return fetch(KESSAI_ORIGIN + path, init).then(function (response) {
      return response.json();
    }, function () {
      return { error: { type: 'api_connection_error', message: 'Could not reach Kessai.' } };
    });
  };

  Kessai.prototype.createPaymentMethod = function (data) {
    if (!data || data.type !== 'card' || !(data.card instanceof CardElement)) {
      return Promise.resolve({ error: { type: 'integration_error', message: "Kessai: createPaymentMethod needs { type: 'card', card: element }." } });
    }
    return data.card._tokenize(data.billing_details);
  };

  Kessai.prototype.retrievePaymentIntent = function (clientSecret) {
    var id = intentIDFrom(clientSecret);
    if (!id) { return Promise.resolve({ error: { type: 'integration_error', message: 'Kessai: that is not a PaymentIntent client secret.' } }); }
    return this._api('GET', '/v1/payment_intents/' + id, { client_secret: clientSecret }).then(function (json) {
      return json.error ? { error: json.error } : { paymentIntent: json };
    });
  };

  /** Shows Kessai's 3-D Secure challenge over the page and waits for the intent to move on. */
  Kessai.prototype._challenge = function (intent, clientSecret) {
    var kessai = this;
    var overlay = document.createElement('div');
    overlay.className = 'KessaiChallenge';
    overlay.style.cssText = 'position:fixed;inset:0;background:rgba(10,15,30,.55);display:flex;align-items:center;justify-content:center;z-index:2147483647;';
    var frame = document.createElement('iframe');
    frame.src = intent.next_action.redirect_to_url.url;
    frame.title = '3-D Secure';
    frame.style.cssText = 'border:0;border-radius:8px;background:#fff;width:min(440px,94vw);height:min(560px,90vh);';
    overlay.appendChild(frame);
    document.body.appendChild(overlay);
    return new Promise(function (resolve) {
      function poll() {
        kessai.retrievePaymentIntent(clientSecret).then(function (result) {
          if (result.error) { overlay.remove(); resolve(result); return; }
          if (result.paymentIntent.status === 'requires_action') { setTimeout(poll, 800); return; }
          overlay.remove();
          resolve(result);
        });
      }
      setTimeout(poll, 800);
    });
  };

  Kessai.prototype.confirmCardPayment = function (clientSecret, data) {
    var kessai = this;
    var id = intentIDFrom(clientSecret);
    if (!id) { return Promise.resolve({ error: { type: 'integration_error', message: 'Kessai: that is not a PaymentIntent client secret.' } }); }
    data = data || {};
    var method = data.payment_method;
    var ready;
    if (method && method.card instanceof CardElement) {
      ready = method.card._tokenize(method.billing_details);
    } else if (typeof method === 'string' || method === undefined) {
      ready = Promise.resolve({ paymentMethod: method ? { id: method } : null });
    } else {
      return Promise.resolve({ error: { type: 'integration_error', message: 'Kessai: payment_method must be a pm_ id or { card: element }.' } });
    }
    return ready.then(function (result) {
      if (result.error) { return result; }
      var fields = { client_secret: clientSecret, return_url: KESSAI_ORIGIN + '/elements/complete' };
      if (result.paymentMethod) { fields.payment_method = result.paymentMethod.id; }
      return kessai._api('POST', '/v1/payment_intents/' + id + '/confirm', fields).then(function (json) {
        if (json.error) {
          return { error: localize(json.error, kessai._locale) };
        }
        if (json.status === 'requires_action' && json.next_action && json.next_action.type === 'redirect_to_url') {
          return kessai._challenge(json, clientSecret).then(function (final) {
            if (final.paymentIntent && final.paymentIntent.status === 'requires_payment_method') {
              var failure = Object.assign({ payment_intent: final.paymentIntent }, final.paymentIntent.last_payment_error || { message: 'Authentication failed.' });
              return { error: localize(failure, kessai._locale) };
            }
            return final;
          });
        }
        return { paymentIntent: json };
      });
    });
  };

  window.Kessai = Kessai;
})();
