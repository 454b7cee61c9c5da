import { strict as assert } from 'assert'
import { renderQueryBody } from './table'

describe('renderQueryBody', () => {
  it('escapes SQL, column names and cell values', () => {
    const body = renderQueryBody('select "<b>"', {
      columns: ['run', '<acc>'],
      rows: [['q/<a>', 0.91234567], ['q/b', null]],
      truncated: true
    })
    assert.ok(!body.includes('<b>'))
    assert.match(body, /<code>select &quot;&lt;b&gt;&quot;<\/code>/)
    assert.match(body, /<th scope="col">&lt;acc&gt;<\/th>/)
    assert.match(body, /<td>q\/&lt;a&gt;<\/td><td class="number">0\.9123<\/td>/)
    assert.match(body, /<td>null<\/td>/)
    assert.match(body, /2 rows \(truncated\)/)
  })
})
