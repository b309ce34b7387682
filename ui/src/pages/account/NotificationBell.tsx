/** The notification bell (being built for issue #17). */
export default function NotificationBell() {
  return null;
}
