export const handler = async () => "esm via package.json type";
