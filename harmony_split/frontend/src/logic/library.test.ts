import { describe, expect, it } from "vitest";
import { FIRST_QUERY, musicalFacts, pageCount, pageLabel, queryString } from "./library";

describe("library query", () => {
  it("asks for the order always, and for search and page only when set", () => {
    expect(queryString(FIRST_QUERY)).toBe("?ordering=-created");
    expect(queryString({ search: "  blue moon ", ordering: "name", page: 3 })).toBe(
      "?ordering=name&search=blue+moon&page=3",
    );
    expect(queryString({ search: "a&b=c", ordering: "-duration_s", page: 1 })).toBe(
      "?ordering=-duration_s&search=a%26b%3Dc",
    );
  });

  it("counts pages of 20 and says them", () => {
    expect([0, 1, 20, 21, 40, 41].map(pageCount)).toEqual([1, 1, 1, 2, 2, 3]);
    expect(pageLabel(2, 25)).toBe("Page 2 of 2 · 25 tracks");
    expect(pageLabel(1, 1)).toBe("Page 1 of 1 · 1 track");
  });
});

describe("musical facts", () => {
  it("says tempo and key when known", () => {
    expect(musicalFacts(119.6, "A minor")).toBe("120 BPM · A minor");
    expect(musicalFacts(null, "C major")).toBe("C major");
    expect(musicalFacts(98, "")).toBe("98 BPM");
    expect(musicalFacts(null, "")).toBe("");
  });
});
