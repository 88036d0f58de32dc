import type { TypeDefinition } from './schemas.js'

// A small example catalogue for development and demonstrations. The authority and issuer codes
// are synthetic but carry valid check characters; 11330105002500287C is DESIGN.md's example issuer.
const WESTLAKE_AMR = '11330105002500287C' // 杭州市西湖区市场监督管理局 (example)
const HANGZHOU_CIVIL_AFFAIRS = '11330100MB1234567E'
const HANGZHOU_UNIVERSITY = '12330100MB0123456R'
const HANGZHOU_REAL_ESTATE = '11440300MB3456789N'
// Signs with SM2 (国密) under the development SM2 root, as Chinese issuing systems do.
const SHANGCHENG_AMR = '11330102MB2345678W'

/**
 * The example issuers, with the types each may issue (their development keys are in
 * keys.example/): RSA keys under the RSA root, unless `keyType` says SM2.
 */
export const EXAMPLE_ISSUERS: ReadonlyArray<{ code: string; name: string; keyType?: 'sm2' }> = [
  { code: WESTLAKE_AMR, name: '杭州市西湖区市场监督管理局' },
  { code: HANGZHOU_CIVIL_AFFAIRS, name: '杭州市民政局' },
  { code: HANGZHOU_UNIVERSITY, name: '杭州示例大学' },
  { code: HANGZHOU_REAL_ESTATE, name: '深圳市不动产登记中心' },
  { code: SHANGCHENG_AMR, name: '杭州市上城区市场监督管理局', keyType: 'sm2' },
]

const date = { type: 'string', format: 'date' }

export const EXAMPLE_CATALOGUE: ReadonlyArray<{ typeCode: string; definition: TypeDefinition }> = [
  {
    typeCode: '11100000000013338W032',
    definition: {
      name: '营业执照',
      description: 'Business licence (organisations)',
      holderIdTypes: ['001'],
      issuers: [WESTLAKE_AMR, SHANGCHENG_AMR],
      dataSchema: {
        type: 'object',
        required: ['enterpriseType', 'legalRepresentative', 'address', 'businessScope'],
        additionalProperties: false,
        properties: {
          enterpriseType: { type: 'string', maxLength: 100 },
          legalRepresentative: { type: 'string', maxLength: 100 },
          registeredCapital: { type: 'string', maxLength: 100 },
          address: { type: 'string', maxLength: 300 },
          businessScope: { type: 'string', maxLength: 5000 },
          establishedOn: date,
        },
      },
    },
  },
  {
    typeCode: '11100000000013338W011',
    definition: {
      name: '结婚证',
      description: 'Marriage certificate (citizens)',
      holderIdTypes: ['111'],
      issuers: [HANGZHOU_CIVIL_AFFAIRS],
      dataSchema: {
        type: 'object',
        required: ['registeredOn', 'spouseName'],
        additionalProperties: false,
        properties: { registeredOn: date, spouseName: { type: 'string', maxLength: 100 }, remarks: { type: 'string', maxLength: 500 } },
      },
    },
  },
  {
    typeCode: '11100000000013338W020',
    definition: {
      name: '学位证书',
      description: 'Degree certificate (citizens)',
      holderIdTypes: ['111'],
      issuers: [HANGZHOU_UNIVERSITY],
      dataSchema: {
        type: 'object',
        required: ['degree', 'discipline', 'institution', 'conferredOn'],
        additionalProperties: false,
        properties: {
          degree: { enum: ['学士', '硕士', '博士'] },
          discipline: { type: 'string', maxLength: 100 },
          institution: { type: 'string', maxLength: 200 },
          conferredOn: date,
        },
      },
    },
  },
  {
    typeCode: '11100000000013338W009',
    definition: {
      name: '不动产权证书',
      description: 'Real-estate title certificate (citizens)',
      holderIdTypes: ['111'],
      issuers: [HANGZHOU_REAL_ESTATE],
      dataSchema: {
        type: 'object',
        required: ['location', 'unitNumber', 'area', 'use', 'rightType'],
        additionalProperties: false,
        properties: {
          location: { type: 'string', maxLength: 300 },
          unitNumber: { type: 'string', maxLength: 50 },
          area: { type: 'number', exclusiveMinimum: 0, description: 'square metres' },
          use: { type: 'string', maxLength: 50 },
          rightType: { type: 'string', maxLength: 50 },
          coOwnership: { type: 'string', maxLength: 50 },
        },
      },
    },
  },
]
