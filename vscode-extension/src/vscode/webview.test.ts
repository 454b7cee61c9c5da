import { strict as assert } from 'assert'
import { jsonInHtml, webviewHtml } from './webview'

describe('webview HTML', () => {
  const hostile = { run: 'a</script><script>alert(1)</script>', note: '<!-- x -->', tag: 'ünï\u2028code', n: [1.5, null] }

  it('carries data no string in it can break out of', () => {
    const text = jsonInHtml(hostile)
    assert.ok(!text.includes('<'), text)
    assert.deepEqual(JSON.parse(text), hostile)
  })

  it('puts the data in a JSON element before the script, which the browser does not run', () => {
    const html = webviewHtml({
      title: 't',
      cspSource: 'vscode-resource:',
      body: '<div id="grid"></div>',
      script: { src: 'x.js', nonce: 'abc' },
      data: { id: 'first-messages', value: [hostile] }
    })
    const element = /<script type="application\/json" id="first-messages">([^<]*)<\/script>/.exec(html)
    assert.ok(element, html)
    assert.deepEqual(JSON.parse(element[1]), [hostile])
    assert.ok(html.indexOf('id="first-messages"') < html.indexOf('src="x.js"'))
    // two elements end a script, the data's and the bundle's: nothing in the data ends one
    assert.equal(html.split('</script>').length - 1, 2)
  })

  it('has no data element without data', () => {
    assert.ok(!webviewHtml({ title: 't', cspSource: 'c', body: '' }).includes('application/json'))
  })
})
