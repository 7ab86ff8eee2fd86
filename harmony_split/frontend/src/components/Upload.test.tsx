// The dropzone's accept and size rules, with a server that lists one model and a 2 MB limit.
import { act, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { Upload } from "./Upload";

function serverAnswers(url: string): unknown {
  if (url.startsWith("/api/models/")) {
    const device = { url: "/api/models/m2/onnx/abc/", spec: {} };
    return [{ id: "m1", name: "tiny", default: false }, { id: "m2", name: "best", default: true, device }];
  }
  return { status: "ok", max_upload_mb: 2 };
}

beforeEach(() => {
  vi.stubGlobal("fetch", (url: string) =>
    Promise.resolve(new Response(JSON.stringify(serverAnswers(url)), { status: 200 })),
  );
});
afterEach(() => vi.unstubAllGlobals());

function sized(name: string, type: string, size: number): File {
  const file = new File(["x"], name, { type });
  Object.defineProperty(file, "size", { value: size });
  return file;
}

async function drop(files: File[]) {
  const zone = screen.getByRole("region", { name: "Upload" }).parentElement as HTMLElement;
  await act(async () => {
    const items = files.map((f) => ({ kind: "file", type: f.type, getAsFile: () => f }));
    fireEvent.drop(zone, { dataTransfer: { files, items, types: ["Files"] } });
  });
}

describe("Upload", () => {
  it("has the upload button, the labelled file input and the default model preselected", async () => {
    render(<Upload onUploaded={() => undefined} onDevice={() => undefined} onError={() => undefined}>{null}</Upload>);
    expect(screen.getByRole("button", { name: "Upload audio" })).toBeTruthy();
    expect(screen.getByLabelText("Audio files")).toBeTruthy();
    const picker = screen.getByRole("combobox", { name: "Model" }) as HTMLSelectElement;
    await waitFor(() => expect(picker.value).toBe("m2"));
    await screen.findByText("Audio files up to 2 MB.");
  });

  it("refuses a wrong type and an oversize file before uploading", async () => {
    const errors: string[] = [];
    const sent: string[] = [];
    vi.spyOn(XMLHttpRequest.prototype, "send").mockImplementation(() => sent.push("sent"));
    render(<Upload onUploaded={() => undefined} onDevice={() => undefined} onError={(e) => errors.push((e as Error).message)}>{null}</Upload>);
    await screen.findByText("Audio files up to 2 MB.");

    await drop([sized("notes.txt", "text/plain", 10)]);
    await drop([sized("big.mp3", "audio/mpeg", 3e6)]);
    expect(errors).toEqual([
      expect.stringMatching(/^notes\.txt: not an audio file/),
      "big.mp3: 3.0 MB is over the 2 MB upload limit",
    ]);
    expect(sent).toEqual([]);

    await drop([sized("fine.mp3", "audio/mpeg", 1e6)]);
    await waitFor(() => expect(sent).toEqual(["sent"]));
    expect(screen.getByText("Uploading fine.mp3: 0%")).toBeTruthy();
  });

  it("has no upload limit for a song separated on this device", async () => {
    const errors: string[] = [];
    const here: string[] = [];
    render(<Upload onUploaded={() => undefined} onDevice={(f) => here.push(f.name)} onError={(e) => errors.push((e as Error).message)}>{null}</Upload>);
    await screen.findByText("Audio files up to 2 MB.");
    fireEvent.click(screen.getByRole("checkbox", { name: "Separate on this device" }));
    await screen.findByText("Audio files stay on this device, whatever their size.");
    await drop([sized("hi-res.wav", "audio/wav", 3e6)]);
    expect(errors).toEqual([]);
    expect(here).toEqual(["hi-res.wav"]);
    window.localStorage.clear(); // the switch is remembered: the other tests start with it off
  });

  it("sends the chosen stem format and quality with the file", async () => {
    const forms: FormData[] = [];
    vi.spyOn(XMLHttpRequest.prototype, "send").mockImplementation((body) => {
      forms.push(body as FormData);
    });
    render(<Upload onUploaded={() => undefined} onDevice={() => undefined} onError={() => undefined}>{null}</Upload>);
    await screen.findByText("Audio files up to 2 MB.");
    const formats = screen.getByRole("combobox", { name: "Stems as" }) as HTMLSelectElement;
    expect(formats.value).toBe("wav");
    fireEvent.change(formats, { target: { value: "flac" } });
    const quality = screen.getByRole("combobox", { name: "Quality" }) as HTMLSelectElement;
    expect(quality.value).toBe("standard");
    fireEvent.change(quality, { target: { value: "high" } });
    await drop([sized("take.wav", "audio/wav", 1e3)]);
    await waitFor(() => expect(forms).toHaveLength(1));
    expect(forms[0].get("format")).toBe("flac");
    expect(forms[0].get("quality")).toBe("high");
    expect(forms[0].get("model")).toBe("m2");
  });
});
