// Small line icons (24x24 viewBox, drawn in the text colour: `currentColor`). They are decoration only
// (aria-hidden): every control that shows one also has its name in words.
import type { ReactNode } from "react";

function Icon({ children, size = 18 }: { children: ReactNode; size?: number }) {
  return (
    <svg className="icon" width={size} height={size} viewBox="0 0 24 24" aria-hidden="true" focusable="false"
      fill="none" stroke="currentColor" strokeWidth={2} strokeLinecap="round" strokeLinejoin="round">
      {children}
    </svg>
  );
}

export const PlayIcon = () => (
  <Icon>
    <path d="M7 4.5v15l12-7.5z" fill="currentColor" />
  </Icon>
);

export const PauseIcon = () => (
  <Icon>
    <rect x="6" y="4.5" width="4" height="15" rx="1" fill="currentColor" />
    <rect x="14" y="4.5" width="4" height="15" rx="1" fill="currentColor" />
  </Icon>
);

export const LoopIcon = () => (
  <Icon size={16}>
    <path d="M17 2l3 3-3 3" />
    <path d="M4 11V9a4 4 0 0 1 4-4h12" />
    <path d="M7 22l-3-3 3-3" />
    <path d="M20 13v2a4 4 0 0 1-4 4H4" />
  </Icon>
);

export const DownloadIcon = () => (
  <Icon size={16}>
    <path d="M12 4v11" />
    <path d="M7 10l5 5 5-5" />
    <path d="M5 20h14" />
  </Icon>
);

export const UploadIcon = ({ size = 18 }: { size?: number }) => (
  <Icon size={size}>
    <path d="M12 16V4" />
    <path d="M7 9l5-5 5 5" />
    <path d="M5 20h14" />
  </Icon>
);

/** The brand's mark: three bars of a level meter, one per stem colour (set in CSS). */
export const BrandMark = () => (
  <svg className="brand-mark" width="28" height="28" viewBox="0 0 28 28" aria-hidden="true" focusable="false">
    <rect className="mark-mixture" x="3" y="8" width="5" height="12" rx="2.5" />
    <rect className="mark-vocals" x="11.5" y="3" width="5" height="22" rx="2.5" />
    <rect className="mark-accompaniment" x="20" y="10" width="5" height="8" rx="2.5" />
  </svg>
);
