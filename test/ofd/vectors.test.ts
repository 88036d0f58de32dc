import t, { type Test } from 'tap'
import { parseSeal, parseSealSignature } from '../../src/ofd/ses.js'
import { verifyOfd, verifySealMaker, type OfdVerification } from '../../src/ofd/verify.js'
import { skipMessage, vector, vectorsPresent } from '../helpers/vectors.js'

// Real sealed files from several Chinese signing products (shared/vectors/ofd/README.md says
// what an independent check found in each). No trust anchor of theirs is available, so the trust
// chain fails for every one of them, and is asserted to fail for the right reason.

const outcome = (r: OfdVerification, sig: number, check: string) => r.signatures[sig]!.checks.find((c) => c.check === check)
const passes = (t: Test, r: OfdVerification, sig: number, checks: string[]) => {
  for (const check of checks) t.equal(outcome(r, sig, check)?.outcome, 'pass', `${check} passes${outcome(r, sig, check)?.detail ? ` (${outcome(r, sig, check)?.detail})` : ''}`)
}
const SEAL_CHECKS = ['references', 'dataHash', 'propertyInfo', 'signerSignature', 'sealSignature', 'signerInSeal']

if (!vectorsPresent('ofd')) {
  t.pass(skipMessage('ofd'))
  t.comment(skipMessage('ofd'))
} else {
  const verify = async (name: string) => verifyOfd(vector('ofd', name)!, { anchors: [] })

  t.test('sesv4-signdoc.ofd: GB/T 38540 V4, 5 references: every check of the file and the seal passes', async (t) => {
    const r = await verify('sesv4-signdoc.ofd')
    t.equal(r.signatures.length, 1)
    t.match(r.signatures[0], { type: 'Seal', sealVersion: 4 })
    passes(t, r, 0, SEAL_CHECKS)
    t.match(outcome(r, 0, 'references')?.detail, /^5 file/)
    t.same(r.uncovered, [], 'every file is covered')
    // Found here, beyond what the vector's README states: the test seal expired in 2022 and the
    // file was signed in 2026, so the seal was not valid when it was used.
    t.match(outcome(r, 0, 'signingTime'), { outcome: 'fail', reason: 'SEAL_NOT_VALID_AT_SIGNING' })
    t.equal(r.code, 1)
  })

  for (const name of ['tax-v4signed.ofd', 'tax-signedfile.ofd', 'suzhou-civil-affairs.ofd']) {
    t.test(`${name}: every check passes but the trust chain, whose anchor we do not have`, async (t) => {
      const r = await verify(name)
      passes(t, r, 0, [...SEAL_CHECKS, 'signingTime'])
      t.match(outcome(r, 0, 'trustChain'), { outcome: 'fail', reason: 'NOT_TRUSTED' })
      t.equal(r.code, 1, 'seal signature failed only because nothing trusts its CA here')
      t.same(r.uncovered, [])
    })
  }

  t.test('zibo-real-estate-edited.ofd: the seal verifies, 3 reference digests do not: altered', async (t) => {
    const r = await verify('zibo-real-estate-edited.ofd')
    const seal = r.signatures.find((s) => s.type === 'Seal')!
    t.equal(seal.checks.find((c) => c.check === 'signerSignature')?.outcome, 'pass', 'the signer\'s signature (raw r ‖ s) verifies')
    t.equal(seal.checks.find((c) => c.check === 'sealSignature')?.outcome, 'pass', 'the seal maker\'s signature verifies')
    t.match(seal.checks.find((c) => c.check === 'references'), { outcome: 'fail', reason: 'DIGEST_MISMATCH', detail: /^3 of / })
    t.ok(r.signatures.some((s) => s.type === 'Sign'), 'the second entry is read as a Type="Sign" signature')
    t.equal(r.code, 2, 'file check failed')
  })

  t.test('v1-hrss-reformatted.ofd: GM/T 0031 V1; the seal maker verifies, the document signature and 6 digests do not', async (t) => {
    const r = await verify('v1-hrss-reformatted.ofd')
    t.match(r.signatures[0], { sealVersion: 1 })
    t.equal(outcome(r, 0, 'sealSignature')?.outcome, 'pass')
    t.match(outcome(r, 0, 'signerSignature'), { outcome: 'fail', reason: 'SIGNATURE_INVALID' })
    t.match(outcome(r, 0, 'references'), { outcome: 'fail', reason: 'DIGEST_MISMATCH', detail: /^6 of 6/ })
    t.match(outcome(r, 0, 'dataHash'), { outcome: 'fail', reason: 'DATA_HASH_MISMATCH' }, 'Signature.xml was pretty-printed after signing')
    t.equal(r.code, 2)
  })

  t.test('digitalsign-bare-rs.ofd: Type="Sign" with a bare SEQUENCE { r, s }: read, but nothing names its key', async (t) => {
    const r = await verify('digitalsign-bare-rs.ofd')
    t.match(r.signatures[0], { type: 'Sign' })
    t.equal(outcome(r, 0, 'references')?.outcome, 'pass')
    t.equal(outcome(r, 0, 'signerSignature')?.outcome, 'skipped')
    t.match(r.checks.find((c) => c.check === 'signerSignature'), { outcome: 'fail', reason: 'NO_VERIFIABLE_SIGNATURE' })
    t.equal(r.code, 1, 'a file whose signatures cannot be verified is not correct')
  })

  t.test('cms-gbt35275.ofd: Type="Sign" with GB/T 35275 SignedData: the signatures verify', async (t) => {
    const r = await verify('cms-gbt35275.ofd')
    t.ok(r.signatures.length >= 1)
    r.signatures.forEach((_, i) => passes(t, r, i, ['references', 'dataHash', 'signerSignature']))
  })

  for (const [name, version] of [['seal-v1.esl', 1], ['seal-v4.esl', 4], ['seal-v5-ts.esl', 5]] as const) {
    t.test(`${name}: a seal alone, version ${version}; the seal maker's signature verifies`, async (t) => {
      const seal = parseSeal(vector('ofd', name)!)
      t.equal(seal.version, version)
      t.ok(seal.certs.length > 0, 'it lists the certificates it may be used with')
      t.ok(verifySealMaker(seal))
      const altered = Buffer.from(seal.makerSigned)
      altered[altered.length - 1] = altered[altered.length - 1]! ^ 1
      t.notOk(verifySealMaker({ ...seal, makerSigned: altered }), 'and not over altered content')
    })
  }

  for (const name of ['signedvalue-v4.dat', 'signedvalue-v5.dat']) {
    t.test(`${name}: a seal signature alone parses and the seal inside verifies`, async (t) => {
      const ses = parseSealSignature(vector('ofd', name)!)
      t.ok(ses.version >= 4)
      t.equal(ses.propertyInfo, '/Doc_0/Signs/Sign_0/Signature.xml')
      t.equal(ses.dataHash.length, 32)
      t.ok(verifySealMaker(ses.seal))
    })
  }
}
