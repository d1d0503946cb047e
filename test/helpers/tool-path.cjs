// The Python tools the tests drive (moto_server, cfn-lint, aws, python3 with boto3) come from PATH, or
// from the project's own virtual environment when the pre-test step installed them there.
const { existsSync } = require('node:fs');
const { delimiter, join } = require('node:path');

const bin = join(__dirname, '..', '..', '.venv-test', process.platform === 'win32' ? 'Scripts' : 'bin');
if (existsSync(bin) && !(process.env.PATH ?? '').split(delimiter).includes(bin)) process.env.PATH = `${bin}${delimiter}${process.env.PATH ?? ''}`;
