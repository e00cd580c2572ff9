// Pricing rules: a cart in, the priced cart out. Tiers, a coupon, volume discounts and regional tax.
function main(input) {
  const tierDiscount = { gold: 0.10, silver: 0.05, bronze: 0.02 };
  const taxRate = { eu: 0.20, us: 0.07, uk: 0.175 };
  let subtotal = 0;
  const lines = input.items.map((item) => {
    let unit = item.price_cents;
    if (item.qty >= 10) unit = Math.round(unit * 0.9);
    else if (item.qty >= 5) unit = Math.round(unit * 0.95);
    const total = unit * item.qty;
    subtotal += total;
    return { sku: item.sku, qty: item.qty, unit_cents: unit, total_cents: total };
  });
  let discount = Math.round(subtotal * (tierDiscount[input.customer.tier] || 0));
  if (input.coupon === "TENOFF" && subtotal - discount >= 5000) discount += 1000;
  else if (input.coupon === "FREESHIP") discount += 0;
  const shipping = input.coupon === "FREESHIP" || subtotal >= 10000 ? 0 : 499;
  const taxable = subtotal - discount + shipping;
  const tax = Math.round(taxable * (taxRate[input.customer.region] || 0));
  return {
    order: input.order_id,
    lines,
    subtotal_cents: subtotal,
    discount_cents: discount,
    shipping_cents: shipping,
    tax_cents: tax,
    total_cents: taxable + tax,
  };
}
