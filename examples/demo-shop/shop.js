// The demo shop's own script. It never touches card data: the card fields are Kessai's iframe,
// and what reaches this page (and the shop's server) is a token, pm_….
(function () {
  'use strict';
  var form = document.getElementById('payment-form');
  var button = document.getElementById('pay');
  var errors = document.getElementById('card-errors');
  var result = document.getElementById('result');
  if (typeof window.Kessai !== 'function') {
    // kessai.js was refused (its integrity hash did not match) or could not load.
    result.textContent = 'お支払い機能を読み込めませんでした / The payment form could not be loaded.';
    result.setAttribute('data-status', 'unavailable');
    button.disabled = true;
    return;
  }
  var kessai = Kessai(form.getAttribute('data-publishable-key'), { locale: 'ja' });
  var card = kessai.elements().create('card');
  card.mount('#card-element');
  card.on('change', function (event) { errors.textContent = event.error ? event.error.message : ''; });

  function show(text, status) {
    result.textContent = text;
    result.setAttribute('data-status', status);
    button.disabled = status === 'succeeded';
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    button.disabled = true;
    show('処理中… / Processing…', 'processing');
    var name = document.getElementById('name').value;
    kessai.createPaymentMethod({ type: 'card', card: card, billing_details: { name: name } }).then(function (created) {
      if (created.error) { show(created.error.message, 'failed'); button.disabled = false; return null; }
      // Only the token goes to the shop's server.
      return fetch('/create-payment-intent', {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ payment_method: created.paymentMethod.id })
      }).then(function (response) { return response.json(); }).then(function (answer) {
        if (answer.error) { show(answer.error, 'failed'); button.disabled = false; return null; }
        return kessai.confirmCardPayment(answer.client_secret);
      });
    }).then(function (confirmed) {
      if (!confirmed) { return; }
      if (confirmed.error) { show(confirmed.error.message, 'failed'); button.disabled = false; return; }
      show('お支払いが完了しました / Payment succeeded (' + confirmed.paymentIntent.id + ')', 'succeeded');
    });
  });
})();
