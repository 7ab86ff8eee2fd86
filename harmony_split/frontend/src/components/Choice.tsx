// A labelled drop-down over a fixed list of typed choices (the library's sort, the upload's quality and format).

export interface Option<T extends string> {
  value: T;
  label: string;
}

export function Choice<T extends string>({
  label,
  name,
  options,
  value,
  onChange,
  className,
  disabled = false,
}: {
  label: string; // the visible label (also the accessible name unless `name` is given)
  name?: string; // an accessible name more specific than the visible label
  options: readonly Option<T>[];
  value: T;
  onChange: (value: T) => void;
  className?: string;
  disabled?: boolean;
}) {
  return (
    <label className={className}>
      <span>{label}</span>
      <select
        aria-label={name}
        value={value}
        disabled={disabled}
        onChange={(e) => {
          const chosen = options.find((o) => o.value === e.target.value);
          if (chosen) {
            onChange(chosen.value);
          }
        }}
      >
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </label>
  );
}
