/** Read any browser-readable image file, scale it to at most `maxSide` px, return base64 PNG. */
export async function fileToPngBase64(file: File, maxSide: number): Promise<{ data: string; url: string }> {
  const bmp = await createImageBitmap(file);
  const scale = Math.min(1, maxSide / Math.max(bmp.width, bmp.height));
  const c = document.createElement('canvas');
  c.width = Math.max(1, Math.round(bmp.width * scale));
  c.height = Math.max(1, Math.round(bmp.height * scale));
  c.getContext('2d')!.drawImage(bmp, 0, 0, c.width, c.height);
  const url = c.toDataURL('image/png');
  return { data: url.slice(url.indexOf(',') + 1), url };
}
