import type { OrderStatus } from "../api/client";

const LABELS: Record<OrderStatus, string> = {
  placed: "Placed",
  preparing: "Preparing",
  ready: "Ready",
  served: "Served",
  cancelled: "Cancelled",
};

export function Status({ status }: { status: OrderStatus }) {
  return <span className={`status status-${status}`}>{LABELS[status]}</span>;
}
