import t from 'tap'
import { maskIdNumbersIn } from '../../src/ids/index.js'

t.test('ID numbers are masked, valid or mistyped; credit codes are left readable', async (t) => {
  for (const id of ['11010519491231002X', '440524188001010014', '110101200001010010', '65010220240229000X', '110105194912310021', '110105194902300022']) {
    t.equal(maskIdNumbersIn(`holder ${id}.`), `holder ${id.slice(0, 6)}********${id.slice(14)}.`, id)
  }
  t.equal(maskIdNumbersIn('11010519491231002x'), '110105********002X', 'lower-case x')
  // Wrong or right, a credit code is not an ID number: an operator must read it.
  for (const code of ['913301050025002871', '911100000012345678', '91110000MA01234568', '11330105002500287C', '9144030071526726XG']) {
    t.equal(maskIdNumbersIn(`org ${code} refused`), `org ${code} refused`, code)
  }
})
