/**
 * A bar chart in plain SVG (no chart library: a few dozen bars do not earn one): usage logs per
 * day and the like. The figures are also in a visually hidden table for screen readers.
 */
export interface Bar {
  label: string;
  value: number;
}

export function BarChart({ title, bars, height = 140 }: { title: string; bars: Bar[]; height?: number }) {
  const max = Math.max(1, ...bars.map((b) => b.value));
  const width = Math.max(bars.length * 18, 200);
  const barWidth = width / Math.max(1, bars.length);
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${width} ${height + 20}`} role="img" aria-label={title} preserveAspectRatio="none">
        {bars.map((bar, i) => {
          const h = (bar.value / max) * height;
          return (
            <g key={bar.label}>
              <rect className="chart-bar" x={i * barWidth + 2} y={height - h} width={barWidth - 4} height={h}>
                <title>{`${bar.label}: ${bar.value}`}</title>
              </rect>
            </g>
          );
        })}
        <line x1={0} x2={width} y1={height} y2={height} className="chart-axis" />
      </svg>
      <table className="visually-hidden">
        <caption>{title}</caption>
        <tbody>
          {bars.map((bar) => (
            <tr key={bar.label}>
              <th scope="row">{bar.label}</th>
              <td>{bar.value}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
